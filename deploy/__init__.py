"""Deployment: the local launcher (`make run`), Dockerfiles and Kubernetes manifests."""
