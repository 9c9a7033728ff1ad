package io.kvmesh.kube.apiserver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The server's key material, made fresh per server with {@code openssl} (P-256 keys, so it takes milliseconds): a CA,
 * a serving certificate for 127.0.0.1 and localhost signed by it, the service-account signing key pair, and one
 * bearer token for a {@code system:masters} user in a static token file.
 */
record Credentials(Path caCertificate, Path servingCertificate, Path servingKey, Path serviceAccountKey,
                   Path serviceAccountPublicKey, Path tokenFile, String token) {

    private static final String OPENSSL_CONFIG = """
            [req]
            distinguished_name = dn
            prompt = no
            [dn]
            CN = kvmesh
            [ca]
            basicConstraints = critical, CA:TRUE
            keyUsage = critical, keyCertSign, cRLSign, digitalSignature
            subjectKeyIdentifier = hash
            [server]
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature, keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, IP:10.0.0.1
            authorityKeyIdentifier = keyid
            """;

    static Credentials create(Path directory) throws IOException {
        Path pki = Files.createDirectories(directory.resolve("pki"));
        Path config = Files.writeString(pki.resolve("openssl.cnf"), OPENSSL_CONFIG, StandardCharsets.UTF_8);
        Path caKey = pki.resolve("ca.key");
        Path caCertificate = pki.resolve("ca.crt");
        Path servingKey = pki.resolve("apiserver.key");
        Path servingRequest = pki.resolve("apiserver.csr");
        Path servingCertificate = pki.resolve("apiserver.crt");
        Path serviceAccountKey = pki.resolve("sa.key");
        Path serviceAccountPublicKey = pki.resolve("sa.pub");

        newKey(caKey);
        openssl("req", "-x509", "-new", "-config", config, "-extensions", "ca", "-key", caKey,
                "-subj", "/CN=kvmesh-kube-test-ca", "-days", "3650", "-out", caCertificate);
        newKey(servingKey);
        openssl("req", "-new", "-config", config, "-key", servingKey, "-subj", "/CN=kube-apiserver", "-out", servingRequest);
        openssl("x509", "-req", "-in", servingRequest, "-CA", caCertificate, "-CAkey", caKey,
                "-set_serial", "0x" + randomHex(16), "-days", "3650", "-extfile", config, "-extensions", "server",
                "-out", servingCertificate);
        newKey(serviceAccountKey);
        openssl("pkey", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPublicKey);

        String token = randomHex(24);
        Path tokenFile = Files.writeString(pki.resolve("tokens.csv"), token + ",admin,kvmesh-admin,\"system:masters\"\n",
                StandardCharsets.UTF_8);
        return new Credentials(caCertificate, servingCertificate, servingKey, serviceAccountKey, serviceAccountPublicKey,
                tokenFile, token);
    }

    private static void newKey(Path file) throws IOException {
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file);
    }

    private static void openssl(Object... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("openssl"));
        for (Object arg : args) {
            command.add(arg.toString());
        }
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run openssl (Debian package openssl): " + e.getMessage(), e);
        }
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " failed: " + output.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IOException("interrupted while running openssl", e);
        }
    }

    private static String randomHex(int bytes) {
        byte[] random = new byte[bytes];
        new SecureRandom().nextBytes(random);
        random[0] &= 0x7f;
        return HexFormat.of().formatHex(random);
    }
}
