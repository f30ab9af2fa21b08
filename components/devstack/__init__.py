"""Dev-only: the local control plane (etcd, kube-*, KWOK on 127.0.0.1), its certificates,
the kind config, and the summary `make local` prints.

Nothing a production stack imports depends on this package (an import-linter
contract keeps it so): the local *target* (`aion_factory.local`) only needs a kubeconfig.
"""
