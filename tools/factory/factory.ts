/*
 * The factory station (docs/factory.md): a factory CA, and the provisioning
 * of one device at a time over its local channel.
 *
 * Certificates are issued with the `openssl` CLI rather than a hand-written
 * ASN.1 encoder: OpenSSL is already what docs/deploy/broker.md uses to make
 * the broker's PKI, its DER encoding and extension handling are exercised by
 * every TLS deployment, and `openssl req -verify` checks the device's
 * request signature. Node's X509Certificate then re-checks what OpenSSL
 * issued. The CA's private key is made by node:crypto and written 0600; it
 * is the only secret this tool touches, and it never reaches a device.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate, createHash, createPublicKey, generateKeyPairSync, randomBytes, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import QRCode from "qrcode";
import { labelFile, makeLabel } from "./label.js";
import { SimulatedDevice, deviceSecretFor } from "../sim/world.js";
import { ReleaseError, hex, parseRootFile, rootKeysOf, sha256, tally } from "../release/format.js";
import type { RootFields } from "../release/format.js";
import type { SimulatorBuild } from "../build/firmware.js";

/** An error the operator can act on: one line, no stack. */
export class FactoryError extends Error {}

export const caKeyFile = "ca.key";
export const caCertificateFile = "ca.pem";
export const manifestFile = "manifest.jsonl";
const deviceValidityDays = 7300;

function openssl(args: string[], cwd: string): string {
	try {
		return execFileSync("openssl", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
	}
	catch (error) {
		const stderr = String((error as { stderr?: string }).stderr ?? "").trim().split("\n")[0];
		throw new FactoryError(`openssl ${args[0]} failed${stderr ? `: ${stderr}` : ""}`);
	}
}

/** `openssl req -verify`, which exits 0 whether or not the signature verifies (OpenSSL 3.0): read what it says. */
function opensslVerifiesRequest(file: string, cwd: string): boolean {
	const run = spawnSync("openssl", ["req", "-in", file, "-noout", "-verify"], { cwd, encoding: "utf8" });
	return (run.status === 0) && /verify OK/.test(`${run.stdout}${run.stderr}`) && !/failure|error/i.test(`${run.stdout}${run.stderr}`);
}

/** The DER element (tag, header length, total length) at `offset`. */
function derElement(der: Buffer, offset: number): { header: number; end: number } {
	let length = der[offset + 1];
	let header = 2;
	if (length & 0x80) {
		const count = length & 0x7F;
		if ((count < 1) || (count > 3))
			throw new FactoryError("the CSR is not DER");
		length = 0;
		for (let i = 0; i < count; i++)
			length = (length << 8) | der[offset + 2 + i];
		header += count;
	}
	if (offset + header + length > der.length)
		throw new FactoryError("the CSR is not DER");
	return { header, end: offset + header + length };
}

/** Checks a PKCS#10 request's signature (SHA-256 with RSA) with node:crypto, independently of OpenSSL's CLI. */
function csrSignatureValid(pem: string, publicKey: KeyObject): boolean {
	const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s/g, ""), "base64");
	if (der[0] !== 0x30)
		return false;
	const outer = derElement(der, 0);
	if (outer.end !== der.length)
		return false;
	const infoStart = outer.header;
	const info = derElement(der, infoStart);
	const algorithm = derElement(der, info.end);
	const sha256WithRsa = Buffer.from("06092a864886f70d01010b", "hex");
	if (!der.subarray(info.end, algorithm.end).includes(sha256WithRsa))
		return false;
	const signature = derElement(der, algorithm.end);
	if ((der[algorithm.end] !== 0x03) || (signature.end !== der.length) || (der[algorithm.end + signature.header] !== 0))
		return false;
	return verify("sha256", der.subarray(infoStart, info.end), publicKey, der.subarray(algorithm.end + signature.header + 1, signature.end));
}

/** Creates the factory CA in `dir`: ca.key (RSA-3072, PKCS#8 PEM, mode 0600) and ca.pem (self-signed, 20 years). */
export function createCa(dir: string, name = "Doorward factory CA"): { certificate: string; fingerprint: string } {
	const folder = resolve(dir);
	if (existsSync(join(folder, caKeyFile)) || existsSync(join(folder, caCertificateFile)))
		throw new FactoryError(`${folder}: a factory CA is already there; refusing to overwrite it`);
	if (!/^[A-Za-z0-9 .-]{1,64}$/.test(name))
		throw new FactoryError("the CA name may hold letters, digits, spaces, '.' and '-'");
	mkdirSync(folder, { recursive: true, mode: 0o700 });
	const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 3072 });
	writeFileSync(join(folder, caKeyFile), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
	chmodSync(join(folder, caKeyFile), 0o600);
	const work = mkdtempSync(join(tmpdir(), "doorward-factory-"));
	try {
		writeFileSync(join(work, "ca.cnf"), [
			"[req]", "distinguished_name = dn", "x509_extensions = ca", "prompt = no",
			"[dn]", `CN = ${name}`,
			"[ca]", "basicConstraints = critical,CA:TRUE,pathlen:0", "keyUsage = critical,keyCertSign,cRLSign", "subjectKeyIdentifier = hash", "",
		].join("\n"));
		openssl(["req", "-x509", "-new", "-config", "ca.cnf", "-key", join(folder, caKeyFile), "-sha256", "-days", "7300",
			"-set_serial", `0x${serial()}`, "-out", join(folder, caCertificateFile)], work);
	}
	finally {
		rmSync(work, { recursive: true, force: true });
	}
	const certificate = readFileSync(join(folder, caCertificateFile), "utf8");
	return { certificate, fingerprint: new X509Certificate(certificate).fingerprint256 };
}

/** 128 random bits, positive, no leading zero byte: an X.509 serial number. */
function serial(): string {
	const bytes = randomBytes(16);
	bytes[0] = (bytes[0] & 0x7F) | 0x40;
	return bytes.toString("hex");
}

export interface Ca { folder: string; certificate: X509Certificate; keyFile: string; certificateFile: string }

export function loadCa(dir: string): Ca {
	const folder = resolve(dir);
	const keyFile = join(folder, caKeyFile);
	const certificateFile = join(folder, caCertificateFile);
	if (!existsSync(keyFile) || !existsSync(certificateFile))
		throw new FactoryError(`${folder}: no factory CA (${caKeyFile} and ${caCertificateFile}); make one with doorward factory ca`);
	if (statSync(keyFile).mode & 0o077)
		throw new FactoryError(`${keyFile}: readable by others; chmod 600 it`);
	return { folder, keyFile, certificateFile, certificate: new X509Certificate(readFileSync(certificateFile)) };
}

/** The device's answer to {"doorward":"csr"}: public data only. */
export interface CsrReply {
	deviceId: string;
	topicId: string;
	csr: string;
	tlsPublicKey: string;
	signingPublicKey: string;
	agreementPublicKey: string;
	fingerprint: string;
}

function checkCsrReply(reply: Record<string, unknown>): CsrReply {
	if (reply.ok !== true)
		throw new FactoryError(`the device refused the CSR request: ${String(reply.error)}`);
	const hex = (name: string, length: number) => {
		const value = reply[name];
		if ((typeof value !== "string") || !new RegExp(`^[0-9a-f]{${length}}$`).test(value))
			throw new FactoryError(`the device's reply has no valid ${name}`);
		return value;
	};
	const fingerprint = reply.fingerprint;
	if ((typeof fingerprint !== "string") || !/^[0-9a-f]{4}(-[0-9a-f]{4}){7}$/.test(fingerprint))
		throw new FactoryError("the device's reply has no valid fingerprint");
	if ((typeof reply.csr !== "string") || !reply.csr.startsWith("-----BEGIN CERTIFICATE REQUEST-----"))
		throw new FactoryError("the device's reply has no CSR");
	if ((typeof reply.tlsPublicKey !== "string") || !/^[0-9a-f]+$/.test(reply.tlsPublicKey))
		throw new FactoryError("the device's reply has no TLS public key");
	return {
		deviceId: hex("deviceId", 32), topicId: hex("topicId", 32), csr: reply.csr, tlsPublicKey: reply.tlsPublicKey,
		signingPublicKey: hex("signingPublicKey", 64), agreementPublicKey: hex("agreementPublicKey", 64), fingerprint,
	};
}

/**
 * Checks the CSR (its signature, its CN, that its key is the RSA-2048 key
 * the device named) and issues the device certificate. Returns its PEM.
 */
export function issueCertificate(ca: Ca, request: CsrReply, days = deviceValidityDays): { pem: string; serial: string } {
	const work = mkdtempSync(join(tmpdir(), "doorward-factory-"));
	try {
		writeFileSync(join(work, "device.csr"), request.csr);
		if (!opensslVerifiesRequest("device.csr", work))
			throw new FactoryError("the CSR's signature does not verify (openssl req -verify)");
		const subject = openssl(["req", "-in", "device.csr", "-noout", "-subject", "-nameopt", "RFC2253"], work).trim();
		if (subject !== `subject=CN=${request.topicId}`)
			throw new FactoryError(`the CSR's subject is ${subject}, not CN=${request.topicId}`);
		const publicKey = createPublicKey(openssl(["req", "-in", "device.csr", "-noout", "-pubkey"], work));
		if ((publicKey.asymmetricKeyType !== "rsa") || (publicKey.asymmetricKeyDetails?.modulusLength !== 2048))
			throw new FactoryError("the CSR's key is not RSA-2048");
		if (!publicKey.export({ type: "spki", format: "der" }).equals(Buffer.from(request.tlsPublicKey, "hex")))
			throw new FactoryError("the CSR's key is not the TLS public key the device reported");
		if (!csrSignatureValid(request.csr, publicKey))
			throw new FactoryError("the CSR's signature does not verify (node:crypto)");
		writeFileSync(join(work, "device.ext"), [
			"basicConstraints = critical,CA:FALSE", "keyUsage = critical,digitalSignature,keyEncipherment",
			"extendedKeyUsage = clientAuth", "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid", "",
		].join("\n"));
		const number = serial();
		openssl(["x509", "-req", "-in", "device.csr", "-CA", ca.certificateFile, "-CAkey", ca.keyFile, "-set_serial", `0x${number}`,
			"-days", String(days), "-sha256", "-extfile", "device.ext", "-out", "device.pem"], work);
		const pem = readFileSync(join(work, "device.pem"), "utf8");
		const certificate = new X509Certificate(pem);
		if (!certificate.verify(ca.certificate.publicKey) || !certificate.checkIssued(ca.certificate))
			throw new FactoryError("the issued certificate does not verify against the factory CA");
		return { pem, serial: certificate.serialNumber.toUpperCase() };
	}
	finally {
		rmSync(work, { recursive: true, force: true });
	}
}


/** One line of the manifest: public data only. */
export interface ManifestEntry {
	deviceId: string;
	topicId: string;
	fingerprint: string;
	signingPublicKey: string;
	agreementPublicKey: string;
	tlsPublicKeySha256: string;
	certificateSerial: string;
	certificate: string;
	notAfter: string;
	model: string;
	hardwareRevision: string;
	broker: string;
	/** The update root the device trusts from the factory on: its version, channel and the SHA-256 of the root file. */
	updateRoot: { version: number; channel: string; sha256: string };
	provisionedAt: string;
}

export function readManifest(file: string): ManifestEntry[] {
	if (!existsSync(file))
		return [];
	return readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line) as ManifestEntry);
}

export interface ProvisionOptions {
	ca: string;
	flash: string;
	broker: string;
	brokerCa?: string;
	model: string;
	hardwareRevision: string;
	/** The update root file (`doorward release root init`): the device trusts it from the lock on. */
	updateRoot?: string;
	labelDir?: string;
	manifest?: string;
	build: SimulatorBuild;
	say: (line: string) => void;
	print: (line: string) => void;
	/** How long to wait for the device to boot and answer, in ms. */
	timeoutMs?: number;
}

function parseBrokerUrl(text: string): { address: string; port: number } {
	let url: URL;
	try {
		url = new URL(text);
	}
	catch {
		throw new FactoryError(`--broker ${text}: not a URL; expected mqtts://HOST:PORT`);
	}
	if (url.protocol !== "mqtts:")
		throw new FactoryError(`--broker ${text}: the factory provisions devices for mqtts:// brokers only (client certificates)`);
	if (url.username || url.password)
		throw new FactoryError(`--broker ${text}: no user names or passwords: the device authenticates with its certificate`);
	const port = url.port ? Number(url.port) : 8883;
	return { address: url.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}

/**
 * The update root file every device of the line trusts: a root (version 1,
 * or a later one after rotations) signed by its own root keys to its root
 * threshold, as the device checks it too.
 */
export function loadUpdateRoot(file: string | undefined): { bytes: Uint8Array; root: RootFields } {
	if (!file)
		throw new FactoryError("--update-root FILE is required: the device takes updates signed under it, and no other root after the lock");
	let bytes: Uint8Array;
	try {
		bytes = new Uint8Array(readFileSync(file));
	}
	catch {
		throw new FactoryError(`--update-root ${file}: cannot read it`);
	}
	let root: RootFields;
	try {
		const signed = parseRootFile(bytes, file);
		root = signed.fields;
		if (!tally(signed, root.channel, [{ keys: rootKeysOf(root), threshold: root.rootThreshold }]).ok)
			throw new ReleaseError(`${file}: not signed by its own root keys to its root threshold (${root.rootThreshold})`);
	}
	catch (error) {
		if (error instanceof ReleaseError)
			throw new FactoryError(`--update-root: ${error.message}`);
		throw error;
	}
	return { bytes, root };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout;
	return Promise.race([
		promise,
		new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new FactoryError(`timed out after ${ms} ms: ${what}`)), ms))),
	]).finally(() => clearTimeout(timer));
}

/**
 * Provisions the simulated device whose flash is `options.flash`: boots it,
 * takes its CSR, issues its certificate, sends configuration, certificate
 * and update root, waits for the lock, writes the label and the manifest
 * line, and powers the device off.
 */
export async function provision(options: ProvisionOptions): Promise<ManifestEntry> {
	const ca = loadCa(options.ca);
	const broker = parseBrokerUrl(options.broker);
	if (!options.brokerCa)
		throw new FactoryError("--broker-ca FILE is required: the device verifies the broker against it");
	let brokerCa: string;
	try {
		brokerCa = readFileSync(options.brokerCa, "utf8");
		new X509Certificate(brokerCa);
	}
	catch {
		throw new FactoryError(`--broker-ca ${options.brokerCa}: not a readable PEM certificate`);
	}
	const updateRoot = loadUpdateRoot(options.updateRoot);
	const manifest = resolve(options.manifest ?? join(ca.folder, manifestFile));
	const labelDir = resolve(options.labelDir ?? join(ca.folder, "labels"));
	const timeoutMs = options.timeoutMs ?? 60000;
	const configuration = {
		broker: { address: broker.address, port: broker.port, tls: { ca: brokerCa, serverName: broker.address } },
		model: options.model,
		hardwareRevision: options.hardwareRevision,
	};

	const flashPath = resolve(options.flash);
	mkdirSync(dirname(flashPath), { recursive: true });
	const log: string[] = [];
	const device = new SimulatedDevice({
		build: options.build,
		flashPath,
		secretPath: deviceSecretFor(flashPath),
		onLog: (line) => log.push(line),
	});
	try {
		await withTimeout(new Promise<void>((ready, reject) => {
			device.on("status", (status) => (status.state !== "booting") && ready());
			device.once("exit", () => reject(new FactoryError(`the device stopped while booting: ${log.slice(-3).join(" | ")}`)));
		}), timeoutMs, "the device did not boot");
		const request = checkCsrReply(await withTimeout(device.factoryRequest({ doorward: "csr" }), timeoutMs, "no answer to the CSR request"));
		const known = readManifest(manifest);
		if (known.some((entry) => (entry.deviceId === request.deviceId) || (entry.fingerprint === request.fingerprint)))
			throw new FactoryError(`device ${request.deviceId} (fingerprint ${request.fingerprint}) is already in ${manifest}`);
		options.say(`factory: device ${request.deviceId}, fingerprint ${request.fingerprint}: CSR verified`);
		const issued = issueCertificate(ca, request);
		// The setup code, before the lock closes the factory line: it goes onto the label below, never into the manifest or the log.
		const label = makeLabel(await withTimeout(device.setupCode(), timeoutMs, "no answer to the setup-code request"));
		if ((label.deviceId !== request.deviceId) || (label.fingerprint !== request.fingerprint))
			throw new FactoryError("the setup-code reply names another device than the CSR");
		const reply = await withTimeout(device.factoryRequest({ doorward: "provision", configuration, certificate: issued.pem, updateRoot: hex(updateRoot.bytes) }),
			timeoutMs, "no answer to the provisioning request");
		if ((reply.ok !== true) || (reply.locked !== true))
			throw new FactoryError(`the device refused provisioning: ${String(reply.error)}`);
		if (reply.updateRoot !== updateRoot.root.version)
			throw new FactoryError(`the device locked, trusting update root ${String(reply.updateRoot)}, not ${updateRoot.root.version}`);
		options.say(`factory: device ${request.deviceId}: update root ${updateRoot.root.version}, certificate ${issued.serial} and configuration stored, provisioning locked`);

		// The label printer's output: the only place the setup code goes (docs/factory.md, "The label").
		const text = label.qr;
		mkdirSync(labelDir, { recursive: true });
		await QRCode.toFile(join(labelDir, `${request.deviceId}.png`), text, { type: "png", errorCorrectionLevel: "M", margin: 4, scale: 8 });
		const terminal = await QRCode.toString(text, { type: "utf8", errorCorrectionLevel: "M", margin: 2 });
		// The label's sticker for the box; the simulator also keeps it beside the flash (tools/factory/label.ts).
		writeFileSync(join(labelDir, `${request.deviceId}.txt`), `${terminal}${text}\nsetup code ${label.manualCode}\n`, { mode: 0o600 });
		writeFileSync(labelFile(flashPath), `${JSON.stringify(label, null, "\t")}\n`, { mode: 0o600 });
		// Not the code itself: stdout is the station's log. The label files are what the printer takes.
		options.print(`label: ${join(labelDir, `${request.deviceId}.png`)} ${join(labelDir, `${request.deviceId}.txt`)}`);

		const entry: ManifestEntry = {
			deviceId: request.deviceId,
			topicId: request.topicId,
			fingerprint: request.fingerprint,
			signingPublicKey: request.signingPublicKey,
			agreementPublicKey: request.agreementPublicKey,
			tlsPublicKeySha256: createHash("sha256").update(Buffer.from(request.tlsPublicKey, "hex")).digest("hex"),
			certificateSerial: issued.serial,
			certificate: issued.pem,
			notAfter: new Date(new X509Certificate(issued.pem).validTo).toISOString(),
			model: options.model,
			hardwareRevision: options.hardwareRevision,
			broker: `mqtts://${broker.address.includes(":") ? `[${broker.address}]` : broker.address}:${broker.port}`,
			updateRoot: { version: updateRoot.root.version, channel: updateRoot.root.channel, sha256: hex(sha256(updateRoot.bytes)) },
			provisionedAt: new Date().toISOString(),
		};
		mkdirSync(dirname(manifest), { recursive: true });
		appendFileSync(manifest, `${JSON.stringify(entry)}\n`);
		return entry;
	}
	catch (error) {
		if (!(error instanceof FactoryError))
			throw error;
		throw new FactoryError(`${flashPath}: ${error.message}`);
	}
	finally {
		await device.powerOff();
	}
}
