// SPDX-License-Identifier: Apache-2.0
// A small Java TLS client with the device identity through SunPKCS11:
//   java P11Client.java PKCS11_CFG CA_PEM PORT
// Mutual TLS to 127.0.0.1:PORT with the token's key entry "device"; the
// server's certificate must chain to CA_PEM. Exits 0 when the handshake
// completes.
import java.io.FileInputStream;
import java.io.OutputStream;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

public class P11Client {
    public static void main(String[] args) throws Exception {
        Provider p = Security.getProvider("SunPKCS11").configure(args[0]);
        Security.addProvider(p);
        KeyStore ks = KeyStore.getInstance("PKCS11", p);
        ks.load(null, new char[0]);
        if (!ks.isKeyEntry("device")) {
            throw new Exception("no key entry named device");
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
        kmf.init(ks, new char[0]);
        KeyStore ts = KeyStore.getInstance(KeyStore.getDefaultType());
        ts.load(null, null);
        try (FileInputStream in = new FileInputStream(args[1])) {
            X509Certificate ca = (X509Certificate) CertificateFactory
                .getInstance("X.509").generateCertificate(in);
            ts.setCertificateEntry("ca", ca);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory()
                 .createSocket("127.0.0.1", Integer.parseInt(args[2]))) {
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write("hello\n".getBytes());
            out.flush();
        }
    }
}
