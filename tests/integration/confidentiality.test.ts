/*
 * What the broker sees: captured byte for byte, it holds no frame, no
 * metadata, no kind; a phone that was removed (the owner invited it, then
 * removed it, both by signed requests) cannot open what follows; a tampered
 * event opens nowhere.
 */
import { test } from "node:test";
import { waitFor } from "../support/wait.js";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { loadScene } from "../../tools/sim/scene.js";
import { defaultScene } from "../../tools/sim/run.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, rememberDevice, phoneFingerprint, phoneKeys } from "../../tools/phone/identity.js";
import { openEvent, parseHeader } from "../../tools/phone/open.js";
import { pairOwner } from "../support/onboard.js";
import { requester, sendRequest } from "../support/requests.js";
import { Kind, removalPayload } from "../../tools/phone/requests.js";
import { invitationPayload, newInvitationCode } from "../../tools/phone/invitation.js";

const build = simulatorBuild();


test("the broker relays only ciphertext; a removed phone reads nothing new; tampering is refused", async () => {
	const captured: Buffer[] = [];
	const broker = await startEmbeddedBroker((bytes) => captured.push(Buffer.from(bytes)));
	const owner = createPhone("owner");
	const former = createPhone("former");
	const ownerEvents: ReceivedEvent[] = [];
	const formerEvents: ReceivedEvent[] = [];
	const formerWarnings: string[] = [];
	const out = mkdtempSync(join(tmpdir(), "doorward-confidential-"));
	const ownerPhone = await SimulatedPhone.connect({ url: broker.url, identity: owner, credentials: broker.phone, outDir: join(out, "owner"), onEvent: (e) => ownerEvents.push(e), onWarning: () => {} });
	const formerPhone = await SimulatedPhone.connect({ url: broker.url, identity: former, credentials: broker.phone, outDir: join(out, "former"), onEvent: (e) => formerEvents.push(e), onWarning: (w) => formerWarnings.push(w) });
	const flash = join(mkdtempSync(join(tmpdir(), "doorward-flash-")), "flash.bin");
	const statuses: DeviceStatus[] = [];
	const log: string[] = [];
	const device = new SimulatedDevice({ build, flashPath: flash, secretPath: deviceSecretFor(flash), configuration: { broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test" }, onLog: (line) => log.push(line) });
	const requests = await requester(broker);
	device.setScene(loadScene(defaultScene));
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	try {
		await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
		const paired = await pairOwner(device, flash, owner);
		rememberDevice(owner, paired);
		const deviceId = paired.deviceId!;
		await waitFor("online", () => statuses.find((status) => status.state === "online"));
		await new Promise((resolve) => setTimeout(resolve, 500)); // the device's SUBSCRIBE to its request topic first
		const code = newInvitationCode();
		await sendRequest(requests, owner, deviceId, Kind.Invite, invitationPayload(code));
		await waitFor("the invitation", () => log.find((line) => /request invite from phone .*: done/.test(line)));
		rememberDevice(former, await device.pair(former, { deviceId, setupCode: code }));

		device.press();
		// A ring is two events: its notification, then its clip; the invited phone gets both too.
		await waitFor("the first ring's two events at both phones", () => ((ownerEvents.length >= 2) && (formerEvents.length >= 2)) ? true : undefined, 60000);
		assert.ok(ownerEvents.find((event) => event.metadata.follows)!.frames.length >= 4);
		assert.deepEqual(new Set(formerEvents.map((event) => event.eventId)), new Set(ownerEvents.slice(0, 2).map((event) => event.eventId)));

		// The local channel names a phone by its key fingerprint; envelopes list it under a per-device key id.
		const envelopeKeyIds = parseHeader(readFileSync(formerEvents[0].envelope)).header.recipients.map((recipient) => recipient.keyId);
		assert.deepEqual(new Set(envelopeKeyIds), new Set([owner.devices[deviceId].keyId, former.devices[deviceId].keyId]));
		assert.ok(!envelopeKeyIds.includes(phoneFingerprint(former)), "the phone key fingerprint is not in the envelope");
		await sendRequest(requests, owner, deviceId, Kind.Remove, removalPayload(phoneFingerprint(former)));
		await waitFor("the removal", () => log.find((line) => /request remove from phone .*: done/.test(line)));
		await new Promise((resolve) => setTimeout(resolve, 1100));
		device.press();
		await waitFor("the second ring's notification at the owner", () => ownerEvents[2]);
		await waitFor("the former phone's refusal", () => formerWarnings.find((w) => /not a recipient/.test(w)));
		assert.equal(formerEvents.length, 2, "the removed phone opened nothing new");

		// Every byte the device sent the broker: no frame, no clip metadata.
		const wire = Buffer.concat(captured);
		const frames = readdirSync(join(defaultScene, "frames")).map((name) => readFileSync(join(defaultScene, "frames", name)));
		for (const frame of frames) {
			for (let offset = 0; offset + 32 <= frame.length; offset += 512)
				assert.equal(wire.indexOf(frame.subarray(offset, offset + 32)), -1, "a 32-byte run of a frame crossed the broker");
		}
		for (const word of ["DWC1", "frameCount", "\"kind\"", "ring", "motion", "jpeg"])
			assert.equal(wire.indexOf(Buffer.from(word)), -1, `"${word}" crossed the broker in clear`);
		assert.ok(wire.length > 2 * 4096, "the events did cross the broker");

		// A bit flipped anywhere in a captured event is refused: every byte of the
		// header and signature, and every 97th byte of the ciphertext.
		const envelope = readFileSync(ownerEvents[2].envelope); // the second ring's notification, sealed after the removal
		const device0 = owner.devices[ownerEvents[2].deviceId];
		const signedEnd = envelope.readUInt16BE(6) + 64;
		const offsets = [...Array(signedEnd).keys()];
		for (let offset = signedEnd; offset < envelope.length; offset += 97)
			offsets.push(offset);
		offsets.push(envelope.length - 1);
		for (const offset of offsets) {
			const tampered = Buffer.from(envelope);
			tampered[offset] ^= 1;
			await assert.rejects(openEvent(tampered, phoneKeys(owner), Buffer.from(device0.signingPublicKey, "hex")), /event:/, `byte ${offset}`);
		}
		await assert.rejects(openEvent(envelope.subarray(0, envelope.length - 1), phoneKeys(owner), Buffer.from(device0.signingPublicKey, "hex")), /truncated or extended/);
		await assert.rejects(openEvent(envelope, phoneKeys(former), Buffer.from(device0.signingPublicKey, "hex")), /not a recipient/);
	}
	finally {
		await device.powerOff();
		await ownerPhone.close();
		await formerPhone.close();
		await requests.endAsync(true);
		await broker.close();
	}
});
