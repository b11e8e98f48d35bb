/*
 * The factory line (docs/factory.md) on simulated devices: the issue's
 * acceptance test. 100 devices provisioned give 100 distinct identities and
 * certificates that verify against the factory CA; no private key and no
 * storage key appears in any file the tools wrote; a locked device refuses
 * provisioning, and any update root but the factory's (the attack of issue
 * 11: a root sent on the local channel after the lock, then a bundle signed
 * under it); a provisioned device reaches mosquitto (configured per
 * docs/deploy/broker.md) with nothing but its factory certificate.
 */
import { readLabel } from "../../tools/factory/label.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasOpenssl, makePki } from "../support/pki.js";
import { freePort, mosquittoBinary, startMosquitto } from "../support/mosquitto.js";
import { projectRoot, simulatorBuild } from "../../tools/build/firmware.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import { factoryCommand } from "../../tools/factory/commands.js";
import { issueCertificate, loadCa, provision, readManifest } from "../../tools/factory/factory.js";
import type { CsrReply, ManifestEntry } from "../../tools/factory/factory.js";
import { encodeBundle, encodeManifest, encodeRoot, hex, sha256, signMessage } from "../../tools/release/format.js";
import type { SecretKey } from "../../tools/release/format.js";
import { createKey } from "../../tools/release/keys.js";
import { packSimImage } from "../../tools/release/sim-image.js";
import { waitFor } from "../support/wait.js";
import type { UpdateReport } from "../../tools/sim/world.js";

const skip = !hasOpenssl ? "openssl is not installed; not run" : false;
const count = Number(process.env.DOORWARD_FACTORY_DEVICES ?? 100);
const parallel = 2;
const build = simulatorBuild();
const quiet = () => {};

function walk(folder: string): string[] {
	return readdirSync(folder).flatMap((name) => {
		const path = join(folder, name);
		return statSync(path).isDirectory() ? walk(path) : [path];
	});
}

async function bootedDevice(flash: string): Promise<SimulatedDevice> {
	const device = new SimulatedDevice({ build, flashPath: flash, secretPath: deviceSecretFor(flash) });
	await new Promise<void>((ready, reject) => {
		device.on("status", (status) => (status.state !== "booting") && ready());
		device.once("exit", () => reject(new Error("the device stopped while booting")));
	});
	return device;
}

/** A root file signed by its own root key, listing `release` as its release key. */
function rootFile(file: string, release: SecretKey, rootKey = createKey("root", "development")): string {
	writeFileSync(file, signMessage("root", encodeRoot({
		channel: "development", version: 1, releaseThreshold: 1, rootThreshold: 1,
		keys: [{ role: "development", publicKey: release.publicKey, release: true, root: false }, { role: "development", publicKey: rootKey.publicKey, release: false, root: true }],
	}), [rootKey]));
	return file;
}

/** A bundle of a real simulator image, 1.1.0, signed by `key`. */
function bundleSignedBy(key: SecretKey): Uint8Array {
	const image = packSimImage(build.moduleMap, { version: { major: 1, minor: 1, patch: 0 } });
	const manifest = signMessage("manifest", encodeManifest({
		channel: "development", model: "doorward-sim", version: { major: 1, minor: 1, patch: 0 }, securityVersion: 0,
		expires: Math.floor(Date.now() / 1000) + 86400, imageSize: image.length, imageDigest: sha256(image), targets: [],
	}), [key]);
	return encodeBundle([], manifest, image);
}

/** A fresh factory: CA, broker PKI (for the broker CA the devices trust), the update root and its release key. */
async function factory(): Promise<{ folder: string; ca: string; brokerCa: string; pki: ReturnType<typeof makePki>; updateRoot: string; releaseKey: SecretKey }> {
	const folder = mkdtempSync(join(tmpdir(), "doorward-factory-test-"));
	const ca = join(folder, "ca");
	assert.equal(await factoryCommand(["ca", "--out", ca], quiet, quiet), 0);
	const pki = makePki([]);
	const releaseKey = createKey("release", "development");
	return { folder, ca, brokerCa: pki.file("broker-ca.pem"), pki, updateRoot: rootFile(join(folder, "root.dwr"), releaseKey), releaseKey };
}

/* The PKCS#8 header of an RSA key: version 0, rsaEncryption, NULL, OCTET STRING. */
const pkcs8RsaHeader = Buffer.from("020100300d06092a864886f70d0101010500048204", "hex");

test(`provisioning ${count} simulated devices: distinct identities, certificates from the factory CA, no secret outside a device`, { skip, timeout: 900000 }, async () => {
	const started = Date.now();
	const { folder, ca, brokerCa, updateRoot, releaseKey } = await factory();
	assert.equal(statSync(join(ca, "ca.key")).mode & 0o777, 0o600, "the CA key is mode 0600");
	const flashes = Array.from({ length: count }, (_, i) => join(folder, "devices", `device-${String(i).padStart(3, "0")}.bin`));
	const entries: ManifestEntry[] = [];
	const printed: string[] = [];
	let next = 0;
	await Promise.all(Array.from({ length: parallel }, async () => {
		while (next < flashes.length) {
			const flash = flashes[next++];
			entries.push(await provision({
				ca, flash, broker: "mqtts://broker.example:8883", brokerCa, updateRoot, model: "doorward-s3", hardwareRevision: "A1",
				labelDir: join(folder, "labels"), build, say: quiet, print: (line) => printed.push(line),
			}));
		}
	}));
	const seconds = (Date.now() - started) / 1000;
	process.stderr.write(`factory: ${count} devices provisioned in ${seconds.toFixed(1)} s (${parallel} at a time)\n`);

	const manifest = readManifest(join(ca, "manifest.jsonl"));
	assert.equal(manifest.length, count);
	for (const field of ["deviceId", "topicId", "fingerprint", "tlsPublicKeySha256", "certificateSerial", "signingPublicKey", "agreementPublicKey"] as const)
		assert.equal(new Set(manifest.map((entry) => entry[field])).size, count, `${count} distinct ${field}s`);
	const caCertificate = new X509Certificate(readFileSync(join(ca, "ca.pem")));
	for (const entry of manifest) {
		const certificate = new X509Certificate(entry.certificate);
		assert.ok(certificate.verify(caCertificate.publicKey), `${entry.deviceId}: verifies against the factory CA`);
		assert.ok(certificate.checkIssued(caCertificate));
		assert.equal(certificate.subject, `CN=${entry.topicId}`);
		assert.equal(certificate.serialNumber.toUpperCase(), entry.certificateSerial);
		const spki = certificate.publicKey.export({ type: "spki", format: "der" });
		assert.equal(createHash("sha256").update(spki).digest("hex"), entry.tlsPublicKeySha256);
		assert.equal(certificate.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
		const label = readFileSync(join(folder, "labels", `${entry.deviceId}.txt`), "utf8");
		const code = /doorward:2:([0-9a-f]{32}):([0-9a-f-]+):(\d{8})$/m.exec(label);
		assert.ok(code && (code[1] === entry.deviceId) && (code[2] === entry.fingerprint), label.slice(-120));
		assert.match(label, new RegExp(`setup code ${code![3].slice(0, 4)}-${code![3].slice(4)}-\\d\n$`));
		// The code leaves the device once, to the label: never in the manifest nor on the station's output.
		assert.ok(!readFileSync(join(ca, "manifest.jsonl"), "utf8").includes(code![3]), "the setup code is not in the manifest");
		assert.ok(!printed.some((line) => line.includes(code![3])), "the setup code is not printed");
		assert.ok(readFileSync(join(folder, "labels", `${entry.deviceId}.png`)).subarray(1, 4).equals(Buffer.from("PNG")));
		assert.deepEqual(entry.updateRoot, { version: 1, channel: "development", sha256: hex(sha256(readFileSync(updateRoot))) });
	}

	// Every file the tools wrote, except the CA's own key and each device's own
	// flash and eFuse stand-in, holds no private key and no device secret.
	const deviceSecrets = flashes.map((flash) => readFileSync(`${flash}.efuse`));
	const written = walk(folder).filter((file) => !file.endsWith("/ca.key") && !file.endsWith(".bin") && !file.endsWith(".efuse"));
	assert.ok(written.length >= 2 * count + 2, `labels, manifest, CA certificate: ${written.length} files`);
	for (const file of written) {
		const bytes = readFileSync(file);
		const text = bytes.toString("latin1");
		assert.ok(!/PRIVATE/i.test(text), `${file}: no "PRIVATE"`);
		assert.equal(bytes.indexOf(pkcs8RsaHeader), -1, `${file}: no PKCS#8 RSA key`);
		for (const secret of deviceSecrets) {
			for (const form of [secret, Buffer.from(secret.toString("hex")), Buffer.from(secret.toString("base64").slice(0, 40))])
				assert.equal(bytes.indexOf(form), -1, `${file}: no device secret`);
		}
	}
	// Each device's flash holds its TLS key only sealed by the keystore.
	for (const flash of flashes) {
		const bytes = readFileSync(flash);
		assert.equal(bytes.indexOf(pkcs8RsaHeader), -1, `${flash}: the key is not in the clear`);
		assert.ok(!bytes.toString("latin1").includes("PRIVATE KEY"), `${flash}: no PEM key`);
		assert.equal(bytes.indexOf(Buffer.from(readLabel(flash)!.setupCode)), -1, `${flash}: the setup code is not on flash (only its verifier, in the keystore)`);
	}
	// A provisioned device refuses any further provisioning, and any other update root, through the command too.
	const refused = await bootedDevice(flashes[0]);
	const updates: UpdateReport[] = [];
	refused.on("update", (report: UpdateReport) => updates.push(report));
	try {
		const csr = await refused.factoryRequest({ doorward: "csr" });
		assert.deepEqual(csr, { ok: false, error: "provisioning is locked" });
		// The attacker's root, with their own release key, on the local channel: as the old trustRoot line, and inside "provision".
		const attackerKey = createKey("attacker", "development");
		const attackerRoot = readFileSync(rootFile(join(folder, "attacker.dwr"), attackerKey)).toString("hex");
		const again = await refused.factoryRequest({
			doorward: "provision", certificate: manifest[0].certificate, updateRoot: attackerRoot,
			configuration: { broker: { address: "evil.example", port: 8883, tls: { ca: readFileSync(brokerCa, "utf8"), serverName: "evil.example" } }, model: "x" },
		});
		assert.deepEqual(again, { ok: false, error: "provisioning is locked" });
		const line = await refused.localRequest({ trustRoot: attackerRoot });
		assert.equal(line.ok, false, "no local message sets the update root");
		// A bundle the attacker signed is refused; one signed by the factory root's release key installs.
		refused.sendUpdate(bundleSignedBy(attackerKey));
		const refusal = await waitFor("the attacker's bundle refused", () => updates.find((report) => report.outcome !== "trial"));
		assert.equal(refusal.outcome, "refused");
		assert.equal(refusal.reason, "unknown-key");
		refused.sendUpdate(bundleSignedBy(releaseKey));
		const installed = await waitFor("the genuine bundle installed", () => updates.find((report) => report.outcome === "installed"), 60000);
		assert.equal(installed.installed, "1.1.0");
	}
	finally {
		await refused.powerOff();
	}
	const lines: string[] = [];
	assert.equal(await factoryCommand(["provision", "--ca", ca, "--flash", flashes[1], "--broker", "mqtts://evil.example:8883", "--broker-ca", brokerCa,
		"--update-root", updateRoot, "--model", "x", "--hardware-revision", "y"], (line) => lines.push(line), quiet), 1);
	assert.match(lines.join("\n"), /provisioning is locked/);
	assert.equal(await factoryCommand(["provision", "--ca", ca, "--flash", flashes[1], "--broker", "mqtts://evil.example:8883", "--broker-ca", brokerCa,
		"--model", "x", "--hardware-revision", "y"], (line) => lines.push(line), quiet), 2, "--update-root is required");
});

test("the device's CSR passes openssl req -verify; the device refuses a certificate for another key, a configuration with a key, a missing or self-unsigned update root", { skip, timeout: 120000 }, async () => {
	const { folder, ca, brokerCa, pki, updateRoot } = await factory();
	const flash = join(folder, "device.bin");
	const device = await bootedDevice(flash);
	try {
		const reply = await device.factoryRequest({ doorward: "csr" });
		assert.equal(reply.ok, true);
		const csrFile = join(folder, "device.csr");
		writeFileSync(csrFile, String(reply.csr));
		// OpenSSL 3.0's req -verify exits 0 either way: what it says is the verdict.
		const verdict = (file: string, ...form: string[]) => spawnSync("openssl", ["req", ...form, "-in", file, "-noout", "-verify"], { encoding: "utf8" }).stderr;
		assert.match(verdict(csrFile), /verify OK/);
		const subject = execFileSync("openssl", ["req", "-in", csrFile, "-noout", "-subject", "-nameopt", "RFC2253"], { encoding: "utf8" }).trim();
		assert.equal(subject, `subject=CN=${reply.topicId}`);
		// A request whose signature is damaged does not verify.
		const der = Buffer.from(String(reply.csr).replace(/-----[^-]+-----/g, "").replace(/\s/g, ""), "base64");
		der[der.length - 10] ^= 1;
		writeFileSync(join(folder, "bad.csr"), der);
		assert.match(verdict(join(folder, "bad.csr"), "-inform", "DER"), /verify failure/);
		// ... and the factory refuses it.
		assert.throws(() => issueCertificate(loadCa(ca), { ...(reply as unknown as CsrReply), csr: `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n` }),
			/signature does not verify/);

		// A certificate from the factory CA, with the right CN, for another key.
		execFileSync("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${reply.topicId}`, "-keyout", "other.key", "-out", "other.csr"], { cwd: folder, stdio: "pipe" });
		execFileSync("openssl", ["x509", "-req", "-in", "other.csr", "-CA", join(ca, "ca.pem"), "-CAkey", join(ca, "ca.key"), "-set_serial", "7", "-days", "2", "-out", "other.pem"], { cwd: folder, stdio: "pipe" });
		const configuration = { broker: { address: "127.0.0.1", port: 8883, tls: { ca: readFileSync(brokerCa, "utf8"), serverName: "127.0.0.1" } }, model: "m", hardwareRevision: "r" };
		const wrong = await device.factoryRequest({ doorward: "provision", configuration, certificate: readFileSync(join(folder, "other.pem"), "utf8") });
		assert.deepEqual(wrong, { ok: false, error: "provision: the certificate is not for this device's key" });
		const withKey = await device.factoryRequest({
			doorward: "provision", certificate: readFileSync(join(folder, "other.pem"), "utf8"),
			configuration: { ...configuration, broker: { ...configuration.broker, tls: { ...configuration.broker.tls, key: pki.text("broker.key") } } },
		});
		assert.deepEqual(withKey, { ok: false, error: "provision: a configuration carries no keys or passwords" });

		// The update root: required, and signed by its own root keys; a refused one leaves the device unlocked, nothing stored.
		const { pem: mine } = issueCertificate(loadCa(ca), reply as unknown as CsrReply);
		const noRoot = await device.factoryRequest({ doorward: "provision", configuration, certificate: mine });
		assert.deepEqual(noRoot, { ok: false, error: "provision: updateRoot must be a signed root file in hex" });
		const damaged = readFileSync(updateRoot);
		damaged[damaged.length - 1] ^= 1;
		const badRoot = await device.factoryRequest({ doorward: "provision", configuration, certificate: mine, updateRoot: damaged.toString("hex") });
		assert.equal(badRoot.ok, false);
		assert.match(String(badRoot.error), /^update refused \(bad-signature\): root 1, signature 0: does not verify$/);
		assert.equal((await device.factoryRequest({ doorward: "csr" })).ok, true, "still unlocked");
	}
	finally {
		await device.powerOff();
	}
	// Still unlocked: the factory provisions it.
	const entry = await provision({ ca, flash, broker: "mqtts://127.0.0.1:8883", brokerCa, updateRoot, model: "m", hardwareRevision: "r", build, say: quiet, print: quiet });
	assert.match(entry.deviceId, /^[0-9a-f]{32}$/);
});

test("a provisioned device publishes to mosquitto (docs/deploy/broker.md) with its factory certificate alone", { skip: skip || (!mosquittoBinary && "mosquitto is not installed; not run"), timeout: 180000 }, async () => {
	const { folder, ca, brokerCa, pki, updateRoot } = await factory();
	const port = await freePort();
	const flash = join(folder, "device.bin");
	const entry = await provision({ ca, flash, broker: `mqtts://127.0.0.1:${port}`, brokerCa, updateRoot, model: "doorward-s3", hardwareRevision: "A1", build, say: quiet, print: quiet });
	const cli = join(projectRoot, "bin", "doorward.js");
	const doorward = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: projectRoot, encoding: "utf8", timeout: 120000 });
	const phoneFile = join(folder, "phone.json");
	assert.equal(doorward(["phone", "keygen", "--out", phoneFile]).status, 0);
	const phone = JSON.parse(readFileSync(phoneFile, "utf8"));
	const phoneName = `phone-${createHash("sha256").update(Buffer.from(phone.x25519PublicKey, "hex")).digest("hex").slice(0, 16)}`;
	const phonePki = makePki([phoneName]);
	// Clients are devices (factory CA) and phones (the test's clients CA).
	writeFileSync(join(folder, "clients.pem"), readFileSync(join(ca, "ca.pem"), "utf8") + phonePki.text("clients-ca.pem"));
	const config = pki.brokerConfig(`pattern write dw/%u/ev\n\nuser ${phoneName}\ntopic read dw/${entry.topicId}/ev\n`)
		.map((line) => line.startsWith("cafile ") ? `cafile ${join(folder, "clients.pem")}` : line);
	const broker = await startMosquitto([...config, "persistence false"], port);
	try {
		// The device is provisioned and never asks for a configuration; it has its
		// own key, made on it, and its factory certificate: no --cert or --key.
		const run = doorward(["sim", "--events", "1", "--json", "--flash", flash, "--phone", phoneFile, "--out", join(folder, "out"),
			"--broker", `mqtts://127.0.0.1:${port}`, "--ca", brokerCa,
			"--phone-cert", phonePki.file(`${phoneName}.pem`), "--phone-key", phonePki.file(`${phoneName}.key`)]);
		assert.equal(run.status, 0, `${run.stderr}\n${broker.log()}`);
		const event = JSON.parse(run.stdout.trim().split("\n")[0]);
		assert.equal(event.topic, `dw/${entry.topicId}/ev`);
		assert.equal(event.deviceId, entry.deviceId);
	}
	finally {
		await broker.stop();
	}
});
