/*
 * The live view end to end on the simulated device (docs/protocol/live.md,
 * issue 14's "Done when"): a paired phone's session, what the broker sees of
 * it, the phone's refusal of tampered, replayed and reordered frames, the
 * LED, the audit entries, the end at the limit, on stop and on removal, a
 * ring during a session; and the requests that must publish no frame at all
 * (a stranger's, a replayed one, a removed phone's, one too long).
 *
 * The phone here is the test, with the phone's own code (tools/phone/live.ts):
 * it keeps each raw message so that it can replay, reorder and tamper with them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MqttClient } from "mqtt";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { startEmbeddedBroker } from "../../tools/sim/broker.js";
import type { EmbeddedBroker } from "../../tools/sim/broker.js";
import { SimulatedPhone } from "../../tools/sim/phone.js";
import type { ReceivedEvent } from "../../tools/sim/phone.js";
import { SimulatedDevice, deviceSecretFor } from "../../tools/sim/world.js";
import type { DeviceStatus } from "../../tools/sim/world.js";
import { createPhone, phoneFingerprint, rememberDevice } from "../../tools/phone/identity.js";
import type { PhoneIdentity } from "../../tools/phone/identity.js";
import type { PhoneAuditEntry } from "../../tools/phone/audit.js";
import { Kind, buildRequest, removalPayload } from "../../tools/phone/requests.js";
import { invitationPayload, newInvitationCode } from "../../tools/phone/invitation.js";
import { Kind as LiveKind, LiveFrameRefused, LiveSession } from "../../tools/phone/live.js";
import type { Message } from "../../tools/phone/live.js";
import { liveScene } from "../../tools/live/run.js";
import { defaultScene } from "../../tools/sim/run.js";
import { pairOwner } from "../support/onboard.js";
import { requester, sendRequest } from "../support/requests.js";
import { waitFor } from "../support/wait.js";
import jpeg from "jpeg-js";

const build = simulatorBuild();

interface Rig {
	readonly broker: EmbeddedBroker;
	readonly device: SimulatedDevice;
	readonly client: MqttClient;
	readonly phone: SimulatedPhone;
	readonly owner: PhoneIdentity;
	readonly deviceId: string;
	readonly log: string[];
	readonly events: ReceivedEvent[];
	readonly audit: PhoneAuditEntry[];
	/** Every byte clients sent the broker. */
	readonly wire: Buffer[];
	/** The device's publishes on live-view topics, whole, as the broker had them. */
	readonly livePublishes: { topic: string; payload: Buffer }[];
	/** Every publish of the device (events and live view), in the order the broker had them. */
	readonly devicePublishes: { topic: string; payload: Buffer }[];
	/** The LED's watching count, each change. */
	readonly watching: number[];
	readonly flash: string;
	close(): Promise<void>;
}

async function rig(folder: string, deviceConfiguration: Record<string, unknown> = {}): Promise<Rig> {
	const wire: Buffer[] = [];
	const livePublishes: { topic: string; payload: Buffer }[] = [];
	const devicePublishes: { topic: string; payload: Buffer }[] = [];
	const broker = await startEmbeddedBroker((bytes) => wire.push(Buffer.from(bytes)), (topic, payload) => {
		if (topic.startsWith("dw/lv/"))
			livePublishes.push({ topic, payload: Buffer.from(payload) });
		if (topic.startsWith("dw/lv/") || topic.endsWith("/ev"))
			devicePublishes.push({ topic, payload: Buffer.from(payload) });
	});
	const owner = createPhone("owner");
	const events: ReceivedEvent[] = [];
	const audit: PhoneAuditEntry[] = [];
	const phone = await SimulatedPhone.connect({
		url: broker.url, identity: owner, credentials: broker.phone, outDir: join(folder, "phone"),
		onEvent: (event) => events.push(event), onAudit: (entry) => entry && audit.push(entry), onWarning: () => {},
	});
	const flash = join(folder, "flash.bin");
	const log: string[] = [];
	const statuses: DeviceStatus[] = [];
	const watching: number[] = [];
	const device = new SimulatedDevice({
		build, flashPath: flash, secretPath: deviceSecretFor(flash), onLog: (line) => log.push(line), scaleToCamera: true,
		configuration: { ...deviceConfiguration, broker: { address: "127.0.0.1", port: broker.port, ...broker.device }, model: "test" },
	});
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	device.on("watching", (count: number) => watching.push(count));
	device.setScene(liveScene());
	await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
	const reply = await pairOwner(device, flash, owner);
	rememberDevice(owner, reply);
	await waitFor("online", () => statuses.find((status) => status.state === "online"));
	await new Promise((resolve) => setTimeout(resolve, 500)); // the device's SUBSCRIBE to its request topic first
	const client = await requester(broker);
	return {
		broker, device, client, phone, owner, deviceId: reply.deviceId!, log, events, audit, wire, livePublishes, devicePublishes, watching, flash,
		async close() {
			await client.endAsync(true);
			await device.powerOff();
			await phone.close();
			await broker.close();
		},
	};
}

/** A session as a phone runs it, every raw message kept; `opened` are the ones this phone took, in order. */
async function ask(rig: Rig, seconds: number, size: "qvga" | "vga" = "qvga", hold = false): Promise<{ session: LiveSession; raw: Buffer[]; opened: Message[]; refused: string[]; ended: Promise<Message> }> {
	const session = await LiveSession.start(rig.owner, rig.deviceId, seconds, size);
	const raw: Buffer[] = [];
	const opened: Message[] = [];
	const refused: string[] = [];
	let ended: (message: Message) => void = () => {};
	const end = new Promise<Message>((resolve) => (ended = resolve));
	rig.client.on("message", (topic, payload) => {
		if (topic !== session.topic)
			return;
		raw.push(Buffer.from(payload));
		try {
			if (!session.accepted) {
				session.accept(payload);
				return;
			}
			if (hold)
				return;
			const message = session.open(payload);
			opened.push(message);
			if (message.type === "end")
				ended(message);
		}
		catch (error) {
			assert.ok(error instanceof LiveFrameRefused, String(error));
			refused.push(error.message);
		}
	});
	await rig.client.subscribeAsync(session.topic, { qos: 0 });
	await rig.client.publishAsync(session.requestTopic, session.sealedRequest, { qos: 1 });
	return { session, raw, opened, refused, ended: end };
}

const sceneFrames = () => readdirSync(join(defaultScene, "frames")).map((name) => readFileSync(join(defaultScene, "frames", name)));

test("a paired phone watches: frames are the camera's, the broker carries only padded ciphertext, tampered, replayed and reordered frames are refused, the LED and the audit log tell, a ring goes through, and the session stops at its limit", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-live-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const r = await rig(folder);
	try {
		const watch = await ask(r, 6);
		await waitFor("the accept and a few frames", () => (watch.opened.length >= 5) ? true : undefined);
		assert.ok(watch.session.accepted);
		assert.deepEqual([watch.session.width, watch.session.height, watch.session.seconds], [320, 240, 6]);
		assert.equal(r.device.watching, 1, "the LED shows someone watching");

		// A ring during the session: its notification and its clip reach the phone as they always do, while the frames go on.
		r.device.press();
		const notification = await waitFor("the ring's notification", () => r.events.find((event) => event.metadata.notification === true));
		const framesAtRing = watch.opened.length;
		// On time, as an ordering (not a duration): no frame captured after the notification was handed to the socket got
		// to the broker ahead of it, so the stream never overtakes a ring. That frames are dropped rather than queued ahead
		// of one is the congestion test's.
		const handed = Number(await waitFor("the notification handed to the socket", () => r.log.map((line) => new RegExp(`sent ring event ${notification.eventId} \\(handed to the socket at (\\d+)\\)`).exec(line)?.[1]).find((at) => at)));
		const envelope = readFileSync(notification.envelope);
		const position = r.devicePublishes.findIndex((publish) => publish.payload.equals(envelope));
		assert.ok(position >= 0, "the notification crossed the broker");
		const ahead = new Set(r.devicePublishes.slice(0, position).filter((publish) => (publish.topic === watch.session.topic) && (publish.payload[0] === 1)).map((publish) => Number(publish.payload.readBigUInt64BE(2))));
		assert.ok(ahead.size >= 5, "the frames from before the ring came before it");
		const end = await watch.ended;
		const capturedAfter = watch.opened.filter((message) => (message.type === "frame") && (message.time > handed));
		assert.ok(capturedAfter.length > 0);
		assert.deepEqual(capturedAfter.filter((message) => ahead.has(message.counter)).map((message) => message.counter), [], "frames captured after the ring went out, ahead of it");
		assert.equal(end.reason, "limit");
		assert.ok(watch.opened.length > framesAtRing + 1, "frames went on after the ring");
		await waitFor("the ring's clip", () => r.events.find((event) => event.metadata.follows === notification.eventId), 60000);
		const frames = watch.opened.filter((message) => message.type === "frame");
		const camera = sceneFrames();
		for (const frame of frames)
			assert.ok(camera.some((picture) => picture.equals(frame.content)), `frame ${frame.counter} is one of the camera's, byte for byte`);
		assert.deepEqual(watch.refused, []);
		await waitFor("the LED off", () => (r.device.watching === 0) ? true : undefined);
		assert.deepEqual(r.watching, [1, 0]);
		const publishesAtEnd = r.livePublishes.length;
		await new Promise((resolve) => setTimeout(resolve, 800));
		assert.equal(r.livePublishes.length, publishesAtEnd, "nothing more on the session's topic after its end");

		// Everyone is told: the start and the end are device-signed audit entries, sealed to the phones.
		const start = await waitFor("liveStart", () => r.audit.find((entry) => entry.type === "liveStart"));
		const ended = await waitFor("liveEnd", () => r.audit.find((entry) => entry.type === "liveEnd"));
		const id = watch.session.id!;
		assert.deepEqual([start.details.phone, start.details.session, start.details.seconds, start.details.size], [phoneFingerprint(r.owner), id, 6, "qvga"]);
		assert.deepEqual([ended.details.phone, ended.details.session, ended.details.reason], [phoneFingerprint(r.owner), id, "limit"]);
		assert.ok(Number(ended.details.frames) >= frames.length);
		assert.ok((Number(ended.details.seconds) >= 5.9) && (Number(ended.details.seconds) < 7), `ran ${ended.details.seconds} s`);

		// What the broker saw: every message on the session's topic is a bucket's size, and no JPEG crossed it.
		// (The JPEG marker is checked with the bytes that follow it in these frames, FF D8 FF E0 00 10: the
		// three bytes alone turn up by chance in a megabyte of ciphertext about one run in twenty.)
		const wire = Buffer.concat(r.wire);
		assert.ok(wire.length > 100000, "the frames did cross the broker");
		assert.equal(wire.indexOf(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10])), -1, "a JPEG start crossed the broker");
		for (const picture of camera) {
			for (let offset = 0; offset + 32 <= picture.length; offset += 256)
				assert.equal(wire.indexOf(picture.subarray(offset, offset + 32)), -1, "a 32-byte run of a frame crossed the broker");
		}
		const buckets = [1024, 4096, 8192, 12288, 16384, 24576, 32768, 49152, 65536, 98304, 131072];
		const sizes = new Set(r.livePublishes.slice(1).map((publish) => publish.payload.length - 26));
		assert.ok([...sizes].every((size) => buckets.includes(size)), `sizes ${[...sizes]}`);
		assert.ok(sizes.size <= 3, "the scene's six frames (8.5 to 10.6 KB) and the end fall in few buckets");

		// The phone refuses a tampered frame, a replayed one and one out of order: a session whose messages
		// the test keeps unopened, then opens in its own order.
		const held = await ask(r, 2, "qvga", true);
		await waitFor("the held session's end", () => r.log.find((line) => new RegExp(`live view ${held.session.id} .*ended \\(limit\\)`).test(line)), 10000);
		await new Promise((resolve) => setTimeout(resolve, 300)); // its end message is on its way
		assert.ok(held.raw.length >= 5, `${held.raw.length} messages`);
		const [one, two, three] = held.raw.slice(1);
		const flipped = Buffer.from(one);
		flipped[one.length - 40] ^= 1;
		assert.throws(() => held.session.open(flipped), /does not authenticate/);
		const header = Buffer.from(one);
		header[9] ^= 1; // the counter, which the tag covers (aad)
		assert.throws(() => held.session.open(header), /does not authenticate/);
		assert.throws(() => held.session.open(watch.raw[2]), /does not authenticate/, "a frame of another session");
		assert.equal(held.session.open(one).counter, 0);
		assert.throws(() => held.session.open(one), /replayed or reordered/);
		assert.equal(held.session.open(three).counter, 2, "a gap is no error");
		assert.throws(() => held.session.open(two), /replayed or reordered/);
		assert.equal(held.session.refused, 5);
		const rest = held.raw.slice(4).map((message) => held.session.open(message));
		assert.equal(rest[rest.length - 1].type, "end");
	}
	finally {
		await r.close();
	}
});

test("a signed stop ends a session; a replayed start, a stranger's, a too long one, a fifth in a minute and a removed phone's publish nothing; a removal ends a session at once", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-live-refusals-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const r = await rig(folder);
	const refusals = () => r.log.filter((line) => /request refused \(kind 16\)/.test(line));
	const silent = async (what: string, count: number, pattern: RegExp) => {
		const before = r.livePublishes.length;
		await waitFor(`the refusal of ${what}`, () => (refusals().length >= count) ? true : undefined);
		assert.match(refusals()[count - 1], pattern);
		await new Promise((resolve) => setTimeout(resolve, 500));
		assert.equal(r.livePublishes.length, before, `${what}: the device published nothing on any live topic`);
	};
	try {
		// The owner's session, ended by its signed stop.
		const first = await ask(r, 60);
		await waitFor("frames", () => (first.opened.length >= 3) ? true : undefined);
		await r.client.publishAsync(first.session.requestTopic, await first.session.stop(r.owner), { qos: 1 });
		assert.equal((await first.ended).reason, "stop");
		await waitFor("its end entry", () => r.audit.find((entry) => (entry.type === "liveEnd") && (entry.details.reason === "stop")));

		// Its start, replayed as captured: refused as taken already, and nothing on its topic.
		await r.client.publishAsync(first.session.requestTopic, first.session.sealedRequest, { qos: 1 });
		await silent("a replayed start", 1, /the request was taken already/);

		// A stranger knows the device's public keys (they are on its label), not a paired phone's key.
		const stranger = createPhone("stranger");
		stranger.devices[r.deviceId] = { ...r.owner.devices[r.deviceId] };
		const theirs = await LiveSession.start(stranger, r.deviceId, 10, "qvga");
		await r.client.publishAsync(theirs.requestTopic, theirs.sealedRequest, { qos: 1 });
		await silent("a stranger's start", 2, /its signer is not a paired phone/);

		// Longer than the device grants (300 s): built by hand, as the phone's own code refuses to.
		const payload = Buffer.from(first.session.payload);
		payload.writeUInt16BE(301, 2);
		const device = r.owner.devices[r.deviceId];
		const long = await buildRequest({ kind: LiveKind.Start, payload, deviceId: r.deviceId, agreementPublicKey: device.agreementPublicKey, signingSecretKey: r.owner.ed25519SecretKey! });
		await r.client.publishAsync(first.session.requestTopic, long.sealed, { qos: 1 });
		await silent("a start of 301 s", 3, /a live view of 301 s \(at most 300\)/);

		// Two more sessions, started and stopped: with the first, three starts this minute.
		for (const round of [1, 2]) {
			const quick = await ask(r, 60);
			await waitFor(`the accept of quick session ${round}`, () => quick.session.accepted ? true : undefined);
			await r.client.publishAsync(quick.session.requestTopic, await quick.session.stop(r.owner), { qos: 1 });
			assert.equal((await quick.ended).reason, "stop");
		}
		// A fourth, the last one a minute allows; then the owner removes itself: the session ends at once, and the removed phone's next start publishes nothing.
		const second = await ask(r, 60);
		await waitFor("frames of the second session", () => (second.opened.length >= 3) ? true : undefined);
		// A fifth start this minute is refused (4 a minute), and the running session goes on.
		const fifth = await LiveSession.start(r.owner, r.deviceId, 10, "qvga");
		await r.client.publishAsync(fifth.requestTopic, fifth.sealedRequest, { qos: 1 });
		await waitFor("the rate limit", () => (refusals().length >= 4) ? true : undefined);
		assert.match(refusals()[3], /4 live views started in the last minute already/);
		const framesThen = second.opened.length;
		await waitFor("frames after the refusal", () => (second.opened.length > framesThen + 2) ? true : undefined);
		assert.ok(second.opened.every((message) => message.type === "frame"), "the running session was not ended by the refused start");
		await sendRequest(r.client, r.owner, r.deviceId, Kind.Remove, removalPayload(phoneFingerprint(r.owner)));
		assert.equal((await second.ended).reason, "removed");
		await waitFor("the LED off", () => (r.device.watching === 0) ? true : undefined);
		const removedAt = r.livePublishes.length;
		const third = await ask(r, 10);
		await silent("a removed phone's start", 5, /its signer is not a paired phone/);
		assert.equal(third.raw.length, 0);
		assert.equal(r.livePublishes.length, removedAt);
		assert.ok(r.log.some((line) => /live view [0-9a-f]{16} for phone [0-9a-f]{16} ended \(removed\)/.test(line)));
	}
	finally {
		await r.close();
	}
});

test("the privacy zones are blanked in every live frame, as in events", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-live-zones-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	// The left half of the picture is a neighbour's window.
	const r = await rig(folder, { privacyZones: [{ points: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]] }] });
	try {
		const watch = await ask(r, 2);
		assert.equal((await watch.ended).reason, "limit");
		const frames = watch.opened.filter((message) => message.type === "frame");
		assert.ok(frames.length >= 5, `${frames.length} frames`);
		const camera = sceneFrames();
		for (const frame of frames) {
			assert.ok(!camera.some((picture) => picture.equals(frame.content)), "not the camera's frame as it was");
			const { width, height, data } = jpeg.decode(frame.content, { useTArray: true });
			let brightest = 0;
			for (let y = 0; y < height; y++) {
				for (let x = 0; x < width / 2 - 8; x++)
					brightest = Math.max(brightest, data[(y * width + x) * 4], data[(y * width + x) * 4 + 1], data[(y * width + x) * 4 + 2]);
			}
			assert.ok(brightest < 24, `frame ${frame.counter}: the zone is blank (brightest ${brightest})`);
		}
		await waitFor("its end entry at the phone", () => r.audit.find((entry) => entry.type === "liveEnd")); // before the phone's folder goes
	}
	finally {
		await r.close();
	}
});

test("a restart ends a session: nothing more comes on its topic, and the next boot records its end", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-live-restart-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const r = await rig(folder);
	let again: SimulatedDevice | undefined;
	try {
		const watch = await ask(r, 60);
		await waitFor("frames", () => (watch.opened.length >= 3) ? true : undefined);
		await r.device.powerOff();
		const before = watch.raw.length;
		const statuses: DeviceStatus[] = [];
		again = new SimulatedDevice({ build, flashPath: r.flash, secretPath: deviceSecretFor(r.flash), onLog: (line) => r.log.push(line), scaleToCamera: true });
		again.on("status", (status: DeviceStatus) => statuses.push(status));
		again.setScene(liveScene());
		await waitFor("online again", () => statuses.find((status) => status.state === "online"));
		const ended = await waitFor("the end of the cut session", () => r.audit.find((entry) => (entry.type === "liveEnd") && (entry.details.session === watch.session.id)));
		assert.equal(ended.details.reason, "restart");
		assert.ok(r.log.some((line) => /live view: 1 sessions ended by the restart/.test(line)));
		await new Promise((resolve) => setTimeout(resolve, 500));
		assert.equal(watch.raw.length, before, "the restarted device knows nothing of the session: nothing more on its topic");
		assert.equal(watch.opened.filter((message) => message.type === "end").length, 0);
	}
	finally {
		await again?.powerOff();
		await r.close();
	}
});

test("under congestion the device drops frames rather than queue them: the phone gets fewer frames, in counter order without gaps, and a ring still goes through", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-live-congested-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	// The device's uplink, throttled to 150 kB/s (a QVGA stream at 30 fps needs about 375): a proxy between it and the broker.
	const { createServer, connect } = await import("node:net");
	const broker = await startEmbeddedBroker();
	const rate = 150000;
	const proxy = createServer((device) => {
		const upstream = connect(broker.port, "127.0.0.1");
		upstream.on("data", (chunk) => device.write(chunk));
		device.on("data", (chunk) => {
			device.pause();
			upstream.write(chunk);
			setTimeout(() => device.resume(), chunk.length * 1000 / rate);
		});
		const close = () => {
			device.destroy();
			upstream.destroy();
		};
		device.on("close", close);
		device.on("error", close);
		upstream.on("close", close);
		upstream.on("error", close);
	});
	await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
	const proxyPort = (proxy.address() as { port: number }).port;
	const owner = createPhone("owner");
	const audit: PhoneAuditEntry[] = [];
	const events: ReceivedEvent[] = [];
	const phone = await SimulatedPhone.connect({
		url: broker.url, identity: owner, credentials: broker.phone, outDir: join(folder, "phone"),
		onEvent: (event) => events.push(event), onAudit: (entry) => entry && audit.push(entry), onWarning: () => {},
	});
	const flash = join(folder, "flash.bin");
	const log: string[] = [];
	const statuses: DeviceStatus[] = [];
	const device = new SimulatedDevice({
		build, flashPath: flash, secretPath: deviceSecretFor(flash), onLog: (line) => log.push(line),
		// A device's TCP stack buffers a few KiB (lwIP), not the megabytes Linux would grow to.
		env: { DOORWARD_TCP_SNDBUF: "8192" },
		configuration: { broker: { address: "127.0.0.1", port: proxyPort, ...broker.device }, model: "test" },
	});
	device.on("status", (status: DeviceStatus) => statuses.push(status));
	device.setScene({ ...liveScene(), fps: 30 });
	const client = await requester(broker);
	try {
		await waitFor("boot", () => statuses.find((status) => status.state !== "booting"));
		const reply = await pairOwner(device, flash, owner);
		rememberDevice(owner, reply);
		await waitFor("online", () => statuses.find((status) => status.state === "online"));
		await new Promise((resolve) => setTimeout(resolve, 1500)); // the pairing's audit event through the slow link first
		const r = { client, owner, deviceId: reply.deviceId! } as Rig;
		const watch = await ask(r, 6);
		await waitFor("frames", () => (watch.opened.length >= 5) ? true : undefined, 15000);
		device.press();
		const notification = await waitFor("the ring's notification", () => events.find((event) => event.metadata.notification === true), 20000);
		assert.ok(notification.snapshot, "with its snapshot");
		const end = await watch.ended;
		assert.equal(end.reason, "limit");
		const frames = watch.opened.filter((message) => message.type === "frame");
		assert.deepEqual(watch.refused, [], "gaps, not errors");
		// The device dropped what the link could not take: frames it never sealed take no counter.
		assert.deepEqual(frames.map((frame) => frame.counter), frames.map((_, index) => index));
		const ended = await waitFor("liveEnd", () => audit.find((entry) => entry.type === "liveEnd"), 20000);
		assert.ok(Number(ended.details.dropped) > 0, `dropped ${ended.details.dropped}`);
		assert.equal(Number(ended.details.frames), frames.length + 0, "every frame the device sent reached the phone");
		assert.ok(frames.length < 6 * 30 * 0.75, `${frames.length} frames in 6 s through a link that takes fewer than 15 a second`);
	}
	finally {
		await client.endAsync(true);
		await device.powerOff();
		await phone.close();
		proxy.close();
		await broker.close();
	}
});

test("two phones watch at once, each with its own session, keys and topic; the LED counts both", async (t) => {
	const folder = mkdtempSync(join(tmpdir(), "doorward-live-two-"));
	t.after(() => rmSync(folder, { recursive: true, force: true }));
	const r = await rig(folder);
	try {
		// The owner invites a second phone (docs/protocol/onboarding.md § Invitations), which pairs as a member.
		const member = createPhone("member");
		const code = newInvitationCode();
		await sendRequest(r.client, r.owner, r.deviceId, Kind.Invite, invitationPayload(code));
		await waitFor("the invitation", () => r.log.find((line) => /request invite from phone .*: done/.test(line)));
		rememberDevice(member, await r.device.pair(member, { deviceId: r.deviceId, setupCode: code }));
		const owners = await ask(r, 3);
		const members = await ask({ ...r, owner: member }, 3);
		await waitFor("frames at both", () => ((owners.opened.length >= 3) && (members.opened.length >= 3)) ? true : undefined);
		assert.equal(r.device.watching, 2);
		assert.notEqual(owners.session.topic, members.session.topic);
		assert.notEqual(owners.session.id, members.session.id);
		assert.deepEqual([(await owners.ended).reason, (await members.ended).reason], ["limit", "limit"]);
		// Each phone's messages open under its own keys only.
		assert.throws(() => members.session.open(owners.raw[owners.raw.length - 1]), /does not authenticate|replayed/);
		const starts = r.audit.filter((entry) => entry.type === "liveStart");
		assert.deepEqual(new Set(starts.map((entry) => entry.details.phone)), new Set([phoneFingerprint(r.owner), phoneFingerprint(member)]));
		await waitFor("the LED off", () => (r.device.watching === 0) ? true : undefined);
		await waitFor("both end entries at the owner", () => (r.audit.filter((entry) => entry.type === "liveEnd").length >= 2) ? true : undefined);
	}
	finally {
		await r.close();
	}
});
