/*
 * The MQTT decoder under hostile input, on XS: random and mutated packets,
 * seeded, bounded. Nothing but MalformedPacket escapes, nothing hangs, and
 * memory returns to its baseline. `npm run fuzz:mqtt` runs a longer round
 * (its count is the first host argument).
 */
import { test, ok, equal } from "tests/harness";
import { PacketDecoder, PacketType, MalformedPacket, decodeConnack, decodePacketId, decodePublish, decodeSuback, encodePublishHeader, encodePuback } from "mqtt/packet";
import { concat, utf8Encode } from "util/bytes";

const rounds = Number(host.argv[0] ?? 3000);

let seed = 0x9E3779B9;
function next(): number {
	// xorshift32: reproducible from the seed above.
	seed ^= seed << 13;
	seed ^= seed >>> 17;
	seed ^= seed << 5;
	return seed >>> 0;
}

const seeds: Uint8Array[] = [
	Uint8Array.of(0x20, 2, 0, 0),
	encodePuback(513),
	concat([encodePublishHeader("dw/t/cmd", 5, 1, 77), utf8Encode("hello")]),
	concat([encodePublishHeader("a", 300, 0, 0), new Uint8Array(300)]),
	Uint8Array.of(0x90, 3, 0, 9, 1),
	Uint8Array.of(0xD0, 0),
];

function feed(bytes: Uint8Array, split: number): number {
	const decoder = new PacketDecoder(4096);
	let decoded = 0;
	try {
		for (const piece of [bytes.subarray(0, split), bytes.subarray(split)]) {
			for (const packet of decoder.push(piece)) {
				decoded++;
				if (packet.type === PacketType.Publish)
					decodePublish(packet);
				else if (packet.type === PacketType.Connack)
					decodeConnack(packet);
				else if (packet.type === PacketType.Suback)
					decodeSuback(packet);
				else if (packet.type === PacketType.Puback)
					decodePacketId(packet, 0, "PUBACK");
			}
		}
	}
	catch (error) {
		if (!(error instanceof MalformedPacket))
			throw error;
	}
	return decoded;
}

test(`${rounds} random and mutated packets: only MalformedPacket, memory back to baseline`, () => {
	feed(seeds[2], 3); // warm up: the first calls allocate what stays
	const before = host.memory();
	let decoded = 0;
	for (let round = 0; round < rounds; round++) {
		let bytes: Uint8Array;
		if (round % 3 === 0) {
			bytes = new Uint8Array(1 + (next() % 64));
			for (let i = 0; i < bytes.length; i++)
				bytes[i] = next() & 255;
		}
		else {
			bytes = seeds[round % seeds.length].slice();
			for (let flips = 1 + (next() % 4); flips > 0; flips--)
				bytes[next() % bytes.length] = next() & 255;
		}
		decoded += feed(bytes, next() % (bytes.length + 1));
	}
	const after = host.memory();
	trace(`xs-info fuzz ${rounds} rounds, ${decoded} packets decoded, chunks ${before.chunks} -> ${after.chunks} bytes, slots ${before.slots} -> ${after.slots}\n`);
	ok(decoded > 0, "some mutated packets still decode");
	equal(after.slots <= before.slots + 64, true, `slots back to baseline (${before.slots} -> ${after.slots})`);
	equal(after.chunks <= before.chunks + 4096, true, `chunks back to baseline (${before.chunks} -> ${after.chunks})`);
});

test("an oversized length is refused before the bytes arrive", () => {
	const decoder = new PacketDecoder(4096);
	let message = "";
	try {
		decoder.push(Uint8Array.of(0x30, 0xFF, 0xFF, 0xFF, 0x7F));
	}
	catch (error) {
		message = (error as Error).message;
	}
	ok(/exceeds the 4096-byte limit/.test(message), message);
});
