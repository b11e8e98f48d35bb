/*
 * The acceptance path: `doorward sim --broker mqtts://...` against
 * mosquitto configured as docs/deploy/broker.md says: TLS only, client
 * certificates whose CN is the device's topic id (or the phone's name), and
 * the ACL. The device learns its topic id at first boot; the test pairs the
 * phone (which prints it), issues the certificates, then runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { hasOpenssl, makePki } from "../support/pki.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { mosquittoBinary, startMosquitto } from "../support/mosquitto.js";
import { projectRoot } from "../../tools/build/firmware.js";
import { defaultScene } from "../../tools/sim/run.js";

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
	const label = JSON.parse(doorward(["label", "--flash", flash, "--json"]).stdout);
	const paired = doorward(["pair", "--phone", phoneFile, "--flash", flash, "--code", label.setupCode]);
	assert.equal(paired.status, 0, paired.stderr);
	const topicId = /topic id ([0-9a-f]{32})/.exec(paired.stderr)![1];
	const phone = JSON.parse(readFileSync(phoneFile, "utf8"));
	const phoneName = `phone-${createHash("sha256").update(Buffer.from(phone.x25519PublicKey, "hex")).digest("hex").slice(0, 16)}`;

	// The development PKI of docs/deploy/broker.md.
	const pki = makePki([topicId, phoneName]);
	const broker = await startMosquitto([...pki.brokerConfig(`pattern write dw/%u/ev\n\nuser ${phoneName}\ntopic read dw/${topicId}/ev\n`), "persistence false"]);
	try {
		const run = doorward(["sim", "--events", "1", "--json", "--flash", flash, "--phone", phoneFile, "--out", join(folder, "out"),
			"--broker", `mqtts://127.0.0.1:${broker.port}`, "--ca", pki.file("broker-ca.pem"),
			"--cert", pki.file(`${topicId}.pem`), "--key", pki.file(`${topicId}.key`),
			"--phone-cert", pki.file(`${phoneName}.pem`), "--phone-key", pki.file(`${phoneName}.key`)]);
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
