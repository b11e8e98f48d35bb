/*
 * The issue's acceptance path: `doorward sim --broker mqtts://...` against
 * mosquitto configured as docs/deploy/broker.md says: TLS only, client
 * certificates whose CN is the device's topic id (or the phone's name), and
 * the ACL. The device learns its topic id at first boot; the test pairs the
 * phone (which prints it), issues the certificates, then runs.
 *
 * Then the firmware's side of a refused TLS connection: an impostor takes
 * over the path to the broker, and the device says why it will not talk to
 * it (status and log), keeps what it records meanwhile, and delivers it when
 * the real broker is reachable again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { createServer as createTlsServer } from "node:tls";
import { hasOpenssl, issue, makePki, serverExtensions } from "../support/pki.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { mosquittoBinary, startMosquitto } from "../support/mosquitto.js";
import { startProxy } from "../support/proxy.js";
import { waitFor } from "../support/wait.js";
import { projectRoot, simulatorBuild } from "../../tools/build/firmware.js";
import { defaultScene } from "../../tools/sim/run.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { loadScene } from "../../tools/sim/scene.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, rememberDevice } from "../../tools/phone/identity.js";
import { pairOwner } from "../support/onboard.js";

const skip = !mosquittoBinary ? "mosquitto is not installed (Debian package mosquitto); not run" : !hasOpenssl ? "openssl is not installed; not run" : false;
const cli = join(projectRoot, "bin", "doorward.js");
const build = simulatorBuild();

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

test("an impostor on the broker's path: the device refuses it with the reason in its status and log, keeps the event it records meanwhile, and delivers it once the real broker is back", { skip }, async () => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-impostor-"));
	const flash = join(folder, "flash.bin");
	const identity = createPhone("impostor phone");
	const statuses: DeviceStatus[] = [];
	const unconfigured = new SimulatedDevice({ build, flashPath: flash, secretPath: deviceSecretFor(flash) });
	unconfigured.on("status", (status: DeviceStatus) => statuses.push(status));
	await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
	const reply = await pairOwner(unconfigured, flash, identity);
	rememberDevice(identity, reply);
	await unconfigured.powerOff();
	statuses.length = 0;

	const topicId = String(reply.topicId);
	const phoneName = `phone-${createHash("sha256").update(Buffer.from(identity.x25519PublicKey, "hex")).digest("hex").slice(0, 16)}`;
	const pki = makePki([topicId, phoneName]);
	// The impostor has a certificate for the broker's names, signed by itself, and sends the real CA after it.
	issue(pki.folder, "impostor", "/CN=broker", { extensions: serverExtensions("localhost", "127.0.0.1") });
	const impostor = createTlsServer({ key: pki.text("impostor.key"), cert: pki.text("impostor.pem") + pki.text("broker-ca.pem") }, (socket) => socket.on("error", () => {}));
	impostor.on("tlsClientError", () => {});
	await new Promise<void>((resolve) => impostor.listen(0, "127.0.0.1", () => resolve()));
	const broker = await startMosquitto([...pki.brokerConfig(`pattern write dw/%u/ev\n\nuser ${phoneName}\ntopic read dw/${topicId}/ev\n`), "persistence false"]);
	const proxy = await startProxy(broker.port);
	const received: ReceivedEvent[] = [];
	const phone = await SimulatedPhone.connect({
		url: `mqtts://localhost:${broker.port}`, identity, topics: "paired", outDir: join(folder, "phone"), onEvent: (event) => received.push(event), onWarning: () => {},
		tls: { ca: readFileSync(pki.file("broker-ca.pem")), cert: readFileSync(pki.file(`${phoneName}.pem`)), key: readFileSync(pki.file(`${phoneName}.key`)) },
	});
	const log: string[] = [];
	const device = new SimulatedDevice({
		build, flashPath: flash, secretPath: deviceSecretFor(flash), onLog: (line) => log.push(line),
		configuration: {
			broker: {
				address: "127.0.0.1", port: proxy.port,
				tls: { ca: pki.text("broker-ca.pem"), serverName: "localhost", certificate: pki.text(`${topicId}.pem`), key: pki.text(`${topicId}.key`) },
			},
			model: "test", keepAliveSeconds: 5,
		},
	});
	let stopped: string | undefined;
	device.on("exit", (code: number | null, signal: string | null) => { stopped = signal ?? `exit ${code}`; });
	device.setScene(loadScene(defaultScene));
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	try {
		await waitFor("online over TLS", () => statuses.find((status) => status.state === "online"));
		device.press();
		await waitFor("the first event at the phone", () => (received.length >= 1) || undefined, 30000);

		proxy.retarget((impostor.address() as { port: number }).port);
		proxy.cut();
		const refused = await waitFor("the impostor refused", () => statuses.find((status) => (status.state === "offline") && /self-signed/.test(String(status.reason))), 30000);
		assert.match(String(refused.reason), /^socket error: X509 - Certificate verification failed.*not correctly signed by the trusted CA; certificate 0 "CN=broker", self-signed\)$/);
		assert.ok(log.some((line) => /disconnected: socket error: X509 - Certificate verification failed.*self-signed/.test(line)), `the device's log names the reason:\n${log.join("\n")}`);

		// A ring while the impostor holds the path: recorded, kept on flash, not published.
		const before = statuses.length;
		device.press();
		await waitFor("the ring recorded while offline", () => statuses.slice(before).find((status) => status.state === "offline" && (status.reason === undefined)), 30000);
		assert.equal(received.length, 1, "nothing reached the phone through the impostor");

		proxy.retarget(broker.port);
		await waitFor("the queued event at the phone", () => (received.length >= 2) || undefined, 90000);
		// Event 1 is the audit event of the pairing (docs/protocol/audit.md).
		assert.deepEqual(received.map((event) => event.seq), [2, 3]);
		assert.equal(stopped, undefined, "the device kept running");
		assert.equal(device.resets, 0, "the device never reset");
	}
	finally {
		await device.powerOff();
		await phone.close();
		await proxy.close();
		await broker.stop();
		await new Promise((resolve) => impostor.close(resolve));
	}
});
