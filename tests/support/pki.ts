/*
 * A throwaway PKI for broker tests, as docs/deploy/broker.md makes one: a CA
 * for clients, a CA for the broker, the broker's certificate (SAN localhost)
 * and a certificate per client name. RSA, as the device's TLS takes it.
 * Everything goes to a fresh temporary folder, never the repository.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

export interface Pki {
	readonly folder: string;
	file(name: string): string;
	text(name: string): string;
	/** mosquitto.conf lines: TLS only, client certificates as user names, the ACL. */
	brokerConfig(acl: string): string[];
}

export function makePki(clients: readonly string[]): Pki {
	const folder = mkdtempSync(join(tmpdir(), "doorward-pki-"));
	const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: folder, stdio: "pipe" });
	const rsa = ["-newkey", "rsa:2048", "-nodes"];
	openssl("req", "-x509", ...rsa, "-days", "2", "-subj", "/CN=test clients CA", "-keyout", "clients-ca.key", "-out", "clients-ca.pem");
	openssl("req", "-x509", ...rsa, "-days", "2", "-subj", "/CN=test broker CA", "-keyout", "broker-ca.key", "-out", "broker-ca.pem");
	// Node checks an IP host against IP entries; Mbed TLS 2.28 compares it with DNS entries as text.
	writeFileSync(join(folder, "san.ext"), "subjectAltName=DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1\n");
	openssl("req", ...rsa, "-subj", "/CN=broker", "-keyout", "broker.key", "-out", "broker.csr");
	openssl("x509", "-req", "-in", "broker.csr", "-CA", "broker-ca.pem", "-CAkey", "broker-ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "broker.pem");
	for (const name of clients) {
		openssl("req", ...rsa, "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
		openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "clients-ca.pem", "-CAkey", "clients-ca.key", "-CAcreateserial", "-days", "2", "-out", `${name}.pem`);
	}
	const file = (name: string) => join(folder, name);
	return {
		folder,
		file,
		text: (name) => readFileSync(file(name), "utf8"),
		brokerConfig(acl: string) {
			writeFileSync(file("acl"), acl);
			return [
				`cafile ${file("clients-ca.pem")}`, `certfile ${file("broker.pem")}`, `keyfile ${file("broker.key")}`,
				"require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2",
				"allow_anonymous false", `acl_file ${file("acl")}`,
			];
		},
	};
}
