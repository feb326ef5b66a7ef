"""Every submit test runs as on a YARN client machine (HADOOP_CONF_DIR with a yarn-site.xml)
unless it takes that away itself."""

import pytest


@pytest.fixture(autouse=True)
def yarn_client_conf(tmp_path, monkeypatch):
    d = tmp_path / "hadoop-conf"
    d.mkdir()
    (d / "yarn-site.xml").write_text("<configuration/>\n")
    monkeypatch.setenv("HADOOP_CONF_DIR", str(d))
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    return d
