// The secured test cluster in one JVM: a KDC (Hadoop's MiniKdc, Apache Kerby inside), then a
// Kerberos-secured MiniDFSCluster (SPNEGO WebHDFS, SASL data transfer, block tokens) and a
// secured MiniYARNCluster. Started by `scripts/hadoop-cluster start --secure` as a single-file
// Java program (`java -cp <jars> SecureCluster.java ...`: compiled in memory, nothing to build).
//
// Arguments: ROOT NODES NN_RPC_PORT NN_HTTP_PORT. The Hadoop settings come from the site files of
// ROOT/server-conf (first on the classpath: every Configuration in this JVM, and the NodeManager's
// localizer JVMs, read them). Writes, all under ROOT:
//   kdc/                the KDC's database      keytabs/service.keytab  hdfs/localhost, HTTP/*
//   krb5.conf           for kinit and JVMs      keytabs/<user>.keytab   one per test user
//   work/secure.json    realm, KDC port, principals: written last, when everything answers
// Everything binds to localhost / 127.0.0.1.
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Properties;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.minikdc.MiniKdc;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

public class SecureCluster {
    static final String REALM = "EXAMPLE.COM";
    static final String SERVICE = "hdfs/localhost";
    static final String[] USERS = {"alice", "bob"};

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {  // the KDC's threads would keep a failed JVM alive
            e.printStackTrace();
            System.exit(1);
        }
    }

    static void run(String[] args) throws Exception {
        File root = new File(args[0]).getAbsoluteFile();
        int nodes = Integer.parseInt(args[1]);
        int nnPort = Integer.parseInt(args[2]);
        int nnHttpPort = Integer.parseInt(args[3]);
        File keytabs = new File(root, "keytabs");
        keytabs.mkdirs();

        Properties kc = MiniKdc.createConf();
        kc.setProperty(MiniKdc.KDC_BIND_ADDRESS, "localhost");
        kc.setProperty(MiniKdc.KDC_PORT, "0");          // the OS picks a free port
        kc.setProperty(MiniKdc.ORG_DOMAIN, "COM");
        kc.setProperty(MiniKdc.ORG_NAME, "EXAMPLE");
        kc.setProperty(MiniKdc.MAX_TICKET_LIFETIME, "86400000");
        kc.setProperty(MiniKdc.MAX_RENEWABLE_LIFETIME, "604800000");
        File kdcDir = new File(root, "kdc");
        kdcDir.mkdirs();
        MiniKdc kdc = new MiniKdc(kc, kdcDir);
        kdc.start();
        File service = new File(keytabs, "service.keytab");
        // SPNEGO: clients name the web server by the URL's host (localhost or 127.0.0.1).
        kdc.createPrincipal(service, SERVICE, "HTTP/localhost", "HTTP/127.0.0.1");
        for (String u : USERS) {
            kdc.createPrincipal(new File(keytabs, u + ".keytab"), u);
        }
        String krb5 = "[libdefaults]\n"
            + "  default_realm = " + REALM + "\n"
            + "  udp_preference_limit = 1\n"
            + "  dns_lookup_kdc = false\n"
            + "  dns_lookup_realm = false\n"
            + "  dns_canonicalize_hostname = false\n"
            + "  rdns = false\n"
            + "  forwardable = true\n"
            + "  ticket_lifetime = 24h\n"
            + "[realms]\n"
            + "  " + REALM + " = {\n    kdc = localhost:" + kdc.getPort() + "\n  }\n"
            + "[domain_realm]\n  localhost = " + REALM + "\n  127.0.0.1 = " + REALM + "\n";
        writeAtomic(new File(root, "krb5.conf"), krb5);
        System.setProperty("java.security.krb5.conf", new File(root, "krb5.conf").getPath());
        System.out.println("SecureCluster: KDC for " + REALM + " on localhost:" + kdc.getPort());

        Configuration conf = new YarnConfiguration(new HdfsConfiguration());
        UserGroupInformation.setConfiguration(conf);
        UserGroupInformation.loginUserFromKeytab(SERVICE + "@" + REALM, service.getPath());

        MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf)
            .nameNodePort(nnPort).nameNodeHttpPort(nnHttpPort)
            .numDataNodes(nodes).format(true).build();
        dfs.waitActive();
        FileSystem fs = dfs.getFileSystem();
        mkdir(fs, "/tmp", (short) 01777, null);
        mkdir(fs, "/user", (short) 0755, null);
        for (String u : USERS) {
            mkdir(fs, "/user/" + u, (short) 0755, u);
        }
        System.out.println("SecureCluster: HDFS up at " + fs.getUri());

        MiniYARNCluster yarn = new MiniYARNCluster("rnn-spark-secure", nodes, 1, 1);
        yarn.init(conf);
        yarn.start();
        System.out.println("SecureCluster: YARN up");

        String json = "{\"realm\": \"" + REALM + "\", \"kdc_port\": " + kdc.getPort()
            + ", \"nodes\": " + nodes
            + ", \"namenode_https_port\": " + dfs.getNameNode().getHttpsAddress().getPort()
            + ", \"service_principal\": \"" + SERVICE + "@" + REALM + "\", \"users\": [\""
            + String.join("\", \"", USERS) + "\"]}\n";
        writeAtomic(new File(root, "work/secure.json"), json);
        System.out.println("SecureCluster: ready");
        Thread.sleep(Long.MAX_VALUE);
    }

    static void mkdir(FileSystem fs, String path, short perm, String owner) throws Exception {
        Path p = new Path(path);
        fs.mkdirs(p);
        fs.setPermission(p, new FsPermission(perm));
        if (owner != null) {
            fs.setOwner(p, owner, "supergroup");
        }
    }

    static void writeAtomic(File f, String text) throws Exception {
        f.getParentFile().mkdirs();
        File tmp = new File(f.getParentFile(), "." + f.getName() + ".tmp");
        Files.write(tmp.toPath(), text.getBytes(StandardCharsets.UTF_8));
        Files.move(tmp.toPath(), f.toPath(), StandardCopyOption.REPLACE_EXISTING,
                   StandardCopyOption.ATOMIC_MOVE);
    }
}
