/*
 * Throwaway certificates, made with openssl in a fresh temporary folder,
 * never the repository.
 *
 * - makePki: the broker tests' PKI, as docs/deploy/broker.md makes one: a CA
 *   for clients, a CA for the broker, the broker's certificate (SAN
 *   localhost) and a certificate per client name. RSA.
 * - issue: one certificate exactly as a test wants it, good or bad: its own
 *   key (RSA, of a chosen size), self-signed or signed by another made in the
 *   same folder, with the extensions, digest and validity dates given. The
 *   TLS tests build their refused chains from it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
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

export type Digest = "sha256" | "sha1" | "md5";

export interface IssueOptions {
	/** The extensions, as lines of an openssl extension file ("basicConstraints=critical,CA:TRUE"). */
	extensions: string;
	/** The certificate (and key) in the same folder that signs this one; absent: self-signed. */
	issuer?: string;
	/** The signature's digest; sha256 unless said. */
	digest?: Digest;
	/** Validity, as openssl ca dates (YYYYMMDDHHMMSSZ); absent: from now, for two days. */
	notBefore?: string;
	notAfter?: string;
	/** RSA key size; 2048 unless said. */
	bits?: number;
}

/** Writes `<name>.key` and `<name>.pem` (PEM) into `folder`. */
export function issue(folder: string, name: string, subject: string, options: IssueOptions): void {
	const openssl = (...args: string[]) => {
		const run = spawnSync("openssl", args, { cwd: folder, encoding: "utf8" });
		if (run.status !== 0)
			throw new Error(`openssl ${args.join(" ")} failed:\n${run.stderr}`);
	};
	const digest = options.digest ?? "sha256";
	openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${options.bits ?? 2048}`, "-out", `${name}.key`);
	openssl("req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`);
	writeFileSync(join(folder, `${name}.ext`), options.extensions.endsWith("\n") ? options.extensions : `${options.extensions}\n`);
	if ((options.notBefore !== undefined) || (options.notAfter !== undefined)) {
		// Only `openssl ca` sets both dates (x509 -req counts days from now).
		if (!options.issuer || !options.notBefore || !options.notAfter)
			throw new Error("issue: dates need an issuer and both notBefore and notAfter");
		writeFileSync(join(folder, `${name}.index`), "");
		writeFileSync(join(folder, `${name}.serial`), `${randomBytes(8).toString("hex")}\n`);
		writeFileSync(join(folder, `${name}.cnf`), [
			"[ca]", "default_ca = dated", "[dated]", `database = ${name}.index`, "new_certs_dir = .", `serial = ${name}.serial`,
			`default_md = ${digest}`, "policy = any", "unique_subject = no", "copy_extensions = none", "[any]", "commonName = supplied", "",
		].join("\n"));
		openssl("ca", "-batch", "-config", `${name}.cnf`, "-cert", `${options.issuer}.pem`, "-keyfile", `${options.issuer}.key`,
			"-in", `${name}.csr`, "-out", `${name}.pem`, "-startdate", options.notBefore, "-enddate", options.notAfter,
			"-extfile", `${name}.ext`, "-notext");
	}
	else if (options.issuer)
		openssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${options.issuer}.pem`, "-CAkey", `${options.issuer}.key`, "-CAcreateserial",
			"-days", "2", `-${digest}`, "-extfile", `${name}.ext`, "-out", `${name}.pem`);
	else
		openssl("x509", "-req", "-in", `${name}.csr`, "-signkey", `${name}.key`, "-days", "2", `-${digest}`, "-extfile", `${name}.ext`, "-out", `${name}.pem`);
}

/** Extensions of a CA certificate. */
export const caExtensions = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";

/** Extensions of a TLS server certificate for `names` (DNS names; IP addresses as IP: entries). */
export function serverExtensions(...names: string[]): string {
	const san = names.map((name) => (/^[0-9.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(",");
	return `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`;
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
