/*
 * The firmware's MQTT codec against an independent implementation: the
 * npm package mqtt-packet (used by aedes and MQTT.js) parses what we encode,
 * and we parse what it generates.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import mqttPacket from "mqtt-packet";
import {
	PacketDecoder, PacketType, encodeConnect, encodePublishHeader, encodePuback, encodeSubscribe, encodeRemainingLength,
	decodeConnack, decodePublish, decodePacketId, pingreq, disconnect, maxRemainingLength,
} from "mqtt/packet";
import { concat, utf8Encode } from "util/bytes";

function parseWithReference(bytes: Uint8Array): mqttPacket.Packet[] {
	const parser = mqttPacket.parser({ protocolVersion: 4 });
	const packets: mqttPacket.Packet[] = [];
	const errors: Error[] = [];
	parser.on("packet", (packet) => packets.push(packet));
	parser.on("error", (error) => errors.push(error));
	parser.parse(Buffer.from(bytes));
	assert.deepEqual(errors, []);
	return packets;
}

test("CONNECT with credentials and will is what the reference parses", () => {
	const bytes = encodeConnect({
		clientId: "dw0123", keepAliveSeconds: 30, cleanSession: true, username: "device-1", password: utf8Encode("s3cret"),
		will: { topic: "dw/x/status", payload: utf8Encode("gone"), qos: 1, retain: true },
	});
	const [packet] = parseWithReference(bytes) as mqttPacket.IConnectPacket[];
	assert.equal(packet.cmd, "connect");
	assert.equal(packet.clientId, "dw0123");
	assert.equal(packet.keepalive, 30);
	assert.equal(packet.clean, true);
	assert.equal(packet.username, "device-1");
	assert.equal(Buffer.from(packet.password!).toString(), "s3cret");
	assert.equal(packet.will?.topic, "dw/x/status");
	assert.equal(packet.will?.qos, 1);
	assert.equal(packet.will?.retain, true);
});

test("CONNECT refuses what §3.1 forbids", () => {
	assert.throws(() => encodeConnect({ clientId: "", keepAliveSeconds: 10, cleanSession: false }), /empty client id/);
	assert.throws(() => encodeConnect({ clientId: "a", keepAliveSeconds: 10, cleanSession: true, password: Uint8Array.of(1) }), /requires a username/);
	assert.throws(() => encodeConnect({ clientId: "a", keepAliveSeconds: 70000, cleanSession: true }), /keepalive/);
});

test("a streamed PUBLISH (header, then payload) is one packet to the reference", () => {
	for (const size of [0, 1, 127, 128, 16383, 16384, 200000]) {
		const payload = Uint8Array.from({ length: size }, (_, i) => i & 255);
		const bytes = concat([encodePublishHeader("dw/abc/ev", payload.length, 1, 42, true), payload]);
		const [packet] = parseWithReference(bytes) as mqttPacket.IPublishPacket[];
		assert.equal(packet.topic, "dw/abc/ev");
		assert.equal(packet.qos, 1);
		assert.equal(packet.dup, true);
		assert.equal(packet.messageId, 42);
		assert.deepEqual(new Uint8Array(packet.payload as Buffer), payload, `payload of ${size} bytes`);
	}
	assert.throws(() => encodePublishHeader("dw/+/ev", 0, 1, 1), /invalid topic name/);
	assert.throws(() => encodePublishHeader("dw/x", 0, 1, 0), /packet identifier/);
	assert.throws(() => encodePublishHeader("dw/x", 0, 0, 0, true), /DUP must be 0/);
});

test("SUBSCRIBE, PUBACK, PINGREQ, DISCONNECT are what the reference parses", () => {
	const [subscribe] = parseWithReference(encodeSubscribe(9, [{ filter: "dw/+/cmd", qos: 1 }])) as mqttPacket.ISubscribePacket[];
	assert.equal(subscribe.messageId, 9);
	assert.deepEqual(subscribe.subscriptions.map((s) => [s.topic, s.qos]), [["dw/+/cmd", 1]]);
	const [puback] = parseWithReference(encodePuback(65535)) as mqttPacket.IPubackPacket[];
	assert.equal(puback.messageId, 65535);
	assert.equal(parseWithReference(pingreq)[0].cmd, "pingreq");
	assert.equal(parseWithReference(disconnect)[0].cmd, "disconnect");
});

test("what the reference generates, we decode", () => {
	const decoder = new PacketDecoder(1 << 20);
	const stream = Buffer.concat([
		mqttPacket.generate({ cmd: "connack", returnCode: 0, sessionPresent: true }),
		mqttPacket.generate({ cmd: "puback", messageId: 513 }),
		mqttPacket.generate({ cmd: "publish", topic: "dw/t/cmd", payload: Buffer.from("open"), qos: 1, messageId: 77, dup: false, retain: true }),
		mqttPacket.generate({ cmd: "pingresp" }),
	]);
	const packets = decoder.push(new Uint8Array(stream));
	assert.deepEqual(packets.map((p) => p.type), [PacketType.Connack, PacketType.Puback, PacketType.Publish, PacketType.Pingresp]);
	assert.deepEqual(decodeConnack(packets[0]), { sessionPresent: true, returnCode: 0 });
	assert.equal(decodePacketId(packets[1], 0, "PUBACK"), 513);
	const publish = decodePublish(packets[2]);
	assert.equal(publish.topic, "dw/t/cmd");
	assert.equal(publish.packetId, 77);
	assert.equal(publish.retain, true);
	assert.equal(Buffer.from(publish.payload).toString(), "open");
});

test("remaining lengths at every encoding boundary match the reference", () => {
	for (const length of [1, 127, 128, 16383, 16384, 2097151, 2097152, maxRemainingLength]) {
		const ours = encodeRemainingLength(length);
		const decoder = new PacketDecoder(maxRemainingLength);
		// A header alone is incomplete: the decoder must wait, not fail.
		assert.deepEqual(decoder.push(concat([Uint8Array.of(0x30), ours])), [], `length ${length}`);
		assert.equal(ours.length, length < 128 ? 1 : length < 16384 ? 2 : length < 2097152 ? 3 : 4);
	}
	assert.throws(() => encodeRemainingLength(maxRemainingLength + 1), /out of range/);
});

test("malformed input is refused with a reason, never a crash", () => {
	assert.throws(() => new PacketDecoder(100).push(Uint8Array.of(0x30, 0x80, 0x80, 0x80, 0x80, 0x01)), /longer than four bytes/);
	assert.throws(() => new PacketDecoder(100).push(Uint8Array.of(0x30, 101)), /exceeds the 100-byte limit/);
	assert.throws(() => new PacketDecoder(100).push(Uint8Array.of(0x00, 0)), /reserved packet type 0/);
	assert.throws(() => decodeConnack({ type: 2, flags: 0, body: Uint8Array.of(2, 0) }), /CONNACK/);
	assert.throws(() => decodePublish({ type: 3, flags: 6, body: Uint8Array.of(0, 1, 0x61) }), /QoS 3/);
	assert.throws(() => decodePublish({ type: 3, flags: 2, body: Uint8Array.of(0, 9, 0x61) }), /overruns/);
	assert.throws(() => decodePublish({ type: 3, flags: 2, body: Uint8Array.of(0, 1, 0x61, 0, 0) }), /identifier 0/);
	assert.throws(() => decodePacketId({ type: 4, flags: 0, body: Uint8Array.of(0, 0) }, 0, "PUBACK"), /identifier 0/);
});

test("a seeded stream of random and mutated packets never escapes as anything but MalformedPacket", () => {
	let seed = 0x2545F491;
	const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 255;
	const valid = [...parseSeeds()];
	for (let round = 0; round < 2000; round++) {
		const base = valid[round % valid.length];
		const mutated = Uint8Array.from(base);
		for (let flips = 1 + (next() & 3); flips > 0; flips--)
			mutated[next() % mutated.length] = next();
		const decoder = new PacketDecoder(4096);
		try {
			for (const packet of decoder.push(mutated)) {
				if (packet.type === PacketType.Publish)
					decodePublish(packet);
				else if (packet.type === PacketType.Connack)
					decodeConnack(packet);
			}
		}
		catch (error) {
			assert.equal((error as Error).name, "MalformedPacket", `round ${round}: ${(error as Error).message}`);
		}
	}
});

function* parseSeeds(): Generator<Uint8Array> {
	yield new Uint8Array(mqttPacket.generate({ cmd: "connack", returnCode: 0, sessionPresent: false }));
	yield new Uint8Array(mqttPacket.generate({ cmd: "publish", topic: "dw/t/cmd", payload: Buffer.from("xyz"), qos: 1, messageId: 3, dup: false, retain: false }));
	yield new Uint8Array(mqttPacket.generate({ cmd: "publish", topic: "a", payload: Buffer.alloc(300, 7), qos: 0, dup: false, retain: false }));
}
