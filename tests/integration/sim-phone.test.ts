/*
 * The simulated phone over a real broker, fed by a hostile publisher that
 * holds device credentials (as a compromised device, or the broker itself,
 * could): an event copied onto another device's topic is refused; a
 * redelivery is dropped; a gap and a late event are reported; after a
 * restart, from the phone file alone, a replay is still refused; and a
 * validly signed clip the specification forbids is one line that quotes
 * nothing of it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { createPhone, deviceFingerprint, loadPhone, rememberDevice, savePhone } from "../../tools/phone/identity.js";
import type { PhoneIdentity } from "../../tools/phone/identity.js";
import { paddedClip, ringRecords, seal } from "../support/seal.js";
import { waitFor } from "../support/wait.js";

test("the simulated phone refuses other topics and replays, after a restart too, and reports gaps", async () => {
	const broker = await startEmbeddedBroker();
	const folder = mkdtempSync(join(tmpdir(), "doorward-sim-phone-"));
	const file = join(folder, "phone.json");
	const seed = randomBytes(32);
	const signing = ed25519.getPublicKey(seed);
	const agreement = x25519.getPublicKey(randomBytes(32));
	const deviceId = randomBytes(16).toString("hex");
	const topicId = randomBytes(16).toString("hex");
	const identity = createPhone("sim phone");
	rememberDevice(identity, {
		ok: true, deviceId, topicId, signingPublicKey: Buffer.from(signing).toString("hex"),
		agreementPublicKey: Buffer.from(agreement).toString("hex"), fingerprint: deviceFingerprint(signing, agreement),
	});
	savePhone(file, identity);
	const event = (seq: number, records = ringRecords()) => seal(paddedClip(records), {
		deviceSeed: seed, deviceId, eventId: randomBytes(16).toString("hex"), seq, time: 1795800000000, phones: [Buffer.from(identity.x25519PublicKey, "hex")],
	});
	const received: ReceivedEvent[] = [];
	const warnings: string[] = [];
	const connect = (phone: PhoneIdentity) => SimulatedPhone.connect({
		url: broker.url, identity: phone, file, credentials: broker.phone, outDir: join(folder, "out"),
		onEvent: (e) => received.push(e), onWarning: (w) => warnings.push(w),
	});
	const publisher = await mqtt.connectAsync(broker.url, { ...broker.device, clientId: `hostile-${randomBytes(4).toString("hex")}` });
	const own = `dw/${topicId}/ev`;
	const warned = (pattern: RegExp) => waitFor(`a warning ${pattern}`, () => warnings.find((w) => pattern.test(w)));
	let phone = await connect(identity);
	try {
		const one = await event(1);
		await publisher.publishAsync(`dw/${"f".repeat(32)}/ev`, one, { qos: 1 });
		await warned(/publishes on dw\/[0-9a-f]{32}\/ev, but this event came on dw\/f{32}\/ev/);
		await publisher.publishAsync(own, one, { qos: 1 });
		await waitFor("event 1", () => received[0]);
		await publisher.publishAsync(own, await event(3), { qos: 1 });
		await waitFor("event 3", () => received[1]);
		await warned(new RegExp(`event 2 of device ${deviceId} never arrived`));
		await publisher.publishAsync(own, one, { qos: 1 });
		await waitFor("the redelivery dropped", () => phone.duplicates || undefined);
		await phone.close();

		// A restart: the phone remembers only what its file says.
		phone = await connect(loadPhone(file));
		await publisher.publishAsync(own, one, { qos: 1 });
		await warned(/replay: event 1 of device [0-9a-f]{32} was opened already/);
		await publisher.publishAsync(own, await event(2), { qos: 1 });
		await warned(new RegExp(`event 2 of device ${deviceId} arrived late, after 3`));
		assert.deepEqual(received.map((e) => e.seq), [1, 3, 2]);

		const secret = "SECRET plaintext";
		const records = ringRecords();
		records[0] = { type: 1, body: Buffer.concat([Buffer.from(secret), Buffer.alloc(4096 - secret.length, 0x20)]) };
		await publisher.publishAsync(own, await event(4, records), { qos: 1 });
		const refusal = await warned(/metadata is not JSON/);
		assert.ok(!refusal.includes("SECRET") && !refusal.includes("\n"), refusal);
		assert.equal(received.length, 3);
		assert.equal(loadPhone(file).devices[deviceId].replay.highest, 3, "a refused event is not recorded");
	}
	finally {
		await phone.close();
		await publisher.endAsync();
		await broker.close();
	}
});
