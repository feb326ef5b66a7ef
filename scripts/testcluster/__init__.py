"""The project's Hadoop test cluster: one JVM running Hadoop's CLI MiniCluster
(NameNode + DataNode with WebHDFS, ResourceManager + NodeManager, JobHistory) on
loopback with fixed ports. Driven by ``scripts/hadoop-cluster``; stdlib only so the
script runs before the project is installed."""


class ClusterError(Exception):
    """A problem the user can act on: printed as one line, exit code 2."""
