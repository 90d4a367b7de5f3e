/**
 * A throwaway TLS certificate for 127.0.0.1 and localhost (openssl, EC P-256,
 * valid one day), written into a test's own folder.
 */
import { assertEquals } from "./assert.ts";

/** Writes `key.pem` and `cert.pem` into `dir`; returns their paths. */
export async function selfSignedCert(
  dir: string,
): Promise<{ readonly certFile: string; readonly keyFile: string }> {
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const openssl = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(openssl.code, 0, new TextDecoder().decode(openssl.stderr));
  return { certFile, keyFile };
}
