/*
 * The acceptance path: `doorward sim --broker mqtts://...` against
 * mosquitto configured as docs/deploy/broker.md says: TLS only, client
 * certificates whose CN is the device's topic id (or the phone's name), and
 * the ACL. The device learns its topic id at first boot; the test pairs the
 * phone (which prints it), issues the certificates, then runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { mosquittoBinary, startMosquitto } from "../support/mosquitto.js";
import { projectRoot } from "../../tools/build/firmware.js";
import { defaultScene } from "../../tools/sim/run.js";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
const skip = !mosquittoBinary ? "mosquitto is not installed (Debian package mosquitto); not run" : !hasOpenssl ? "openssl is not installed; not run" : false;
const cli = join(projectRoot, "bin", "doorward.js");

function doorward(args: string[]): { status: number | null; stdout: string; stderr: string } {
	const run = spawnSync(process.execPath, [cli, ...args], { cwd: projectRoot, encoding: "utf8", timeout: 120000 });
	return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("doorward sim over mqtts, against the deployment configuration of docs/deploy/broker.md", { skip }, async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-sim-tls-"));
	const phoneFile = join(folder, "phone.json");
	const flash = join(folder, "device.bin");
	assert.equal(doorward(["phone", "keygen", "--out", phoneFile]).status, 0);
	const paired = doorward(["pair", "--phone", phoneFile, "--flash", flash]);
	assert.equal(paired.status, 0, paired.stderr);
	const topicId = /topic id ([0-9a-f]{32})/.exec(paired.stderr)![1];
	const phone = JSON.parse(readFileSync(phoneFile, "utf8"));
	const phoneName = `phone-${createHash("sha256").update(Buffer.from(phone.x25519PublicKey, "hex")).digest("hex").slice(0, 16)}`;

	// The development PKI of docs/deploy/broker.md, with RSA keys as the device's TLS takes them.
	const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: folder, stdio: "pipe" });
	const rsa = ["-newkey", "rsa:2048", "-nodes"];
	openssl("req", "-x509", ...rsa, "-days", "2", "-subj", "/CN=clients CA", "-keyout", "clients-ca.key", "-out", "clients-ca.pem");
	openssl("req", "-x509", ...rsa, "-days", "2", "-subj", "/CN=broker CA", "-keyout", "broker-ca.key", "-out", "broker-ca.pem");
	writeFileSync(join(folder, "san.ext"), "subjectAltName=DNS:localhost\n");
	openssl("req", ...rsa, "-subj", "/CN=broker", "-keyout", "broker.key", "-out", "broker.csr");
	openssl("x509", "-req", "-in", "broker.csr", "-CA", "broker-ca.pem", "-CAkey", "broker-ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "broker.pem");
	for (const name of [topicId, phoneName]) {
		openssl("req", ...rsa, "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
		openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "clients-ca.pem", "-CAkey", "clients-ca.key", "-CAcreateserial", "-days", "2", "-out", `${name}.pem`);
	}
	writeFileSync(join(folder, "acl"), `pattern write dw/%u/ev\n\nuser ${phoneName}\ntopic read dw/${topicId}/ev\n`);
	const broker = await startMosquitto([
		`cafile ${join(folder, "clients-ca.pem")}`, `certfile ${join(folder, "broker.pem")}`, `keyfile ${join(folder, "broker.key")}`,
		"require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2",
		"allow_anonymous false", `acl_file ${join(folder, "acl")}`, "persistence false",
	]);
	try {
		const run = doorward(["sim", "--events", "1", "--json", "--flash", flash, "--phone", phoneFile, "--out", join(folder, "out"),
			"--broker", `mqtts://localhost:${broker.port}`, "--ca", join(folder, "broker-ca.pem"),
			"--cert", join(folder, `${topicId}.pem`), "--key", join(folder, `${topicId}.key`),
			"--phone-cert", join(folder, `${phoneName}.pem`), "--phone-key", join(folder, `${phoneName}.key`)]);
		assert.equal(run.status, 0, `${run.stderr}\n${broker.log()}`);
		const event = JSON.parse(run.stdout.trim().split("\n")[0]);
		assert.equal(event.topic, `dw/${topicId}/ev`);
		const frames = readdirSync(join(defaultScene, "frames")).sort().map((name) => readFileSync(join(defaultScene, "frames", name)));
		event.frames.forEach((file: string, index: number) => assert.ok(readFileSync(file).equals(frames[index])));
		// The ACL lets only the certificate whose CN is the topic id write there:
		// the event's arrival is the device's TLS identity at work.
	}
	finally {
		await broker.stop();
	}
});
