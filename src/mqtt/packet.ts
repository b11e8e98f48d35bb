/*
 * MQTT 3.1.1 packets (OASIS standard, 2014): the encoders the device needs
 * and a decoder that checks every length before it allocates anything.
 * Pure logic, on XS and Node alike.
 */
import { utf8Encode, utf8Decode, concat } from "util/bytes";

export const PacketType = Object.freeze({
	Connect: 1, Connack: 2, Publish: 3, Puback: 4, Pubrec: 5, Pubrel: 6, Pubcomp: 7,
	Subscribe: 8, Suback: 9, Unsubscribe: 10, Unsuback: 11, Pingreq: 12, Pingresp: 13, Disconnect: 14,
} as const);

/** The largest Remaining Length the protocol can express (§2.2.3). */
export const maxRemainingLength = 268435455;

export class MalformedPacket extends Error {
	// A field, defined on each instance: on a preloaded XS image Error.prototype is frozen,
	// so assigning `this.name` would throw "set name: not writable" (the override mistake).
	override readonly name = "MalformedPacket";
	constructor(reason: string) {
		super(`mqtt: malformed packet: ${reason}`);
	}
}

export function encodeRemainingLength(length: number): Uint8Array {
	if (!Number.isInteger(length) || (length < 0) || (length > maxRemainingLength))
		throw new RangeError(`mqtt: remaining length ${length} out of range`);
	const bytes: number[] = [];
	do {
		let byte = length % 128;
		length = Math.floor(length / 128);
		if (length > 0)
			byte |= 128;
		bytes.push(byte);
	} while (length > 0);
	return Uint8Array.from(bytes);
}

function utf8Field(text: string, what: string): Uint8Array {
	const bytes = utf8Encode(text);
	if (bytes.length > 65535)
		throw new RangeError(`mqtt: ${what} longer than 65535 bytes`);
	return concat([u16(bytes.length), bytes]);
}

function binaryField(bytes: Uint8Array, what: string): Uint8Array {
	if (bytes.length > 65535)
		throw new RangeError(`mqtt: ${what} longer than 65535 bytes`);
	return concat([u16(bytes.length), bytes]);
}

function u16(value: number): Uint8Array {
	return Uint8Array.of(value >> 8, value & 255);
}

function packet(first: number, body: Uint8Array): Uint8Array {
	return concat([Uint8Array.of(first), encodeRemainingLength(body.length), body]);
}

function checkTopicName(topic: string): void {
	if (!topic.length || topic.includes("+") || topic.includes("#") || topic.includes("\u0000"))
		throw new RangeError(`mqtt: invalid topic name ${JSON.stringify(topic)}`);
}

function checkPacketId(id: number): void {
	if (!Number.isInteger(id) || (id < 1) || (id > 65535))
		throw new RangeError(`mqtt: invalid packet identifier ${id}`);
}

export interface ConnectOptions {
	clientId: string;
	keepAliveSeconds: number;
	cleanSession: boolean;
	username?: string;
	password?: Uint8Array;
	will?: { topic: string; payload: Uint8Array; qos: 0 | 1; retain: boolean };
}

export function encodeConnect(options: ConnectOptions): Uint8Array {
	const keepAlive = options.keepAliveSeconds;
	if (!Number.isInteger(keepAlive) || (keepAlive < 0) || (keepAlive > 65535))
		throw new RangeError(`mqtt: invalid keepalive ${keepAlive}`);
	if (!options.clientId.length && !options.cleanSession)
		throw new RangeError("mqtt: an empty client id requires a clean session (§3.1.3.1)");
	if ((options.password !== undefined) && (options.username === undefined))
		throw new RangeError("mqtt: a password requires a username (§3.1.2.9)");
	let flags = options.cleanSession ? 0x02 : 0;
	const payload = [utf8Field(options.clientId, "client id")];
	if (options.will) {
		checkTopicName(options.will.topic);
		flags |= 0x04 | (options.will.qos << 3) | (options.will.retain ? 0x20 : 0);
		payload.push(utf8Field(options.will.topic, "will topic"), binaryField(options.will.payload, "will payload"));
	}
	if (options.username !== undefined) {
		flags |= 0x80;
		payload.push(utf8Field(options.username, "username"));
	}
	if (options.password !== undefined) {
		flags |= 0x40;
		payload.push(binaryField(options.password, "password"));
	}
	const variable = concat([utf8Field("MQTT", "protocol"), Uint8Array.of(4, flags), u16(keepAlive)]);
	return packet(PacketType.Connect << 4, concat([variable, ...payload]));
}

/**
 * The fixed and variable header of a PUBLISH whose payload of
 * `payloadLength` bytes the caller sends next, so a large payload is streamed
 * rather than copied into one buffer.
 */
export function encodePublishHeader(topic: string, payloadLength: number, qos: 0 | 1, packetId: number, dup = false, retain = false): Uint8Array {
	checkTopicName(topic);
	if (qos)
		checkPacketId(packetId);
	else if (dup)
		throw new RangeError("mqtt: DUP must be 0 for QoS 0 (§3.3.1.1)");
	const variable = qos ? concat([utf8Field(topic, "topic"), u16(packetId)]) : utf8Field(topic, "topic");
	const first = (PacketType.Publish << 4) | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
	return concat([Uint8Array.of(first), encodeRemainingLength(variable.length + payloadLength), variable]);
}

export function encodePuback(packetId: number): Uint8Array {
	checkPacketId(packetId);
	return packet(PacketType.Puback << 4, u16(packetId));
}

export function encodeSubscribe(packetId: number, filters: readonly { filter: string; qos: 0 | 1 }[]): Uint8Array {
	checkPacketId(packetId);
	if (!filters.length)
		throw new RangeError("mqtt: SUBSCRIBE needs at least one filter (§3.8.3)");
	const parts = [u16(packetId)];
	for (const { filter, qos } of filters)
		parts.push(utf8Field(filter, "topic filter"), Uint8Array.of(qos));
	return packet((PacketType.Subscribe << 4) | 2, concat(parts));
}

export function encodeUnsubscribe(packetId: number, filters: readonly string[]): Uint8Array {
	checkPacketId(packetId);
	if (!filters.length)
		throw new RangeError("mqtt: UNSUBSCRIBE needs at least one filter (§3.10.3)");
	return packet((PacketType.Unsubscribe << 4) | 2, concat([u16(packetId), ...filters.map((filter) => utf8Field(filter, "topic filter"))]));
}

export const pingreq = Uint8Array.of(PacketType.Pingreq << 4, 0);
export const disconnect = Uint8Array.of(PacketType.Disconnect << 4, 0);

/** A packet as received: the fixed header's type and flags, and its body. */
export interface RawPacket {
	type: number;
	flags: number;
	body: Uint8Array;
}

/**
 * Splits a byte stream into packets. Refuses, before allocating, any packet
 * whose Remaining Length is malformed or larger than `maxPacket`.
 */
export class PacketDecoder {
	#pending: Uint8Array[] = [];
	#pendingLength = 0;
	#maxPacket: number;

	constructor(maxPacket: number) {
		this.#maxPacket = maxPacket;
	}

	/** Adds received bytes and returns every packet now complete. Throws MalformedPacket. */
	push(bytes: Uint8Array): RawPacket[] {
		if (bytes.length) {
			this.#pending.push(bytes);
			this.#pendingLength += bytes.length;
		}
		const packets: RawPacket[] = [];
		for (;;) {
			const header = this.#peekHeader();
			if (!header)
				break;
			const total = header.headerLength + header.remaining;
			if (this.#pendingLength < total)
				break;
			const whole = this.#take(total);
			packets.push({ type: whole[0] >> 4, flags: whole[0] & 15, body: whole.subarray(header.headerLength) });
		}
		return packets;
	}

	#peekHeader(): { headerLength: number; remaining: number } | undefined {
		const available = Math.min(this.#pendingLength, 5);
		if (available < 2)
			return undefined;
		const head = this.#peek(available);
		let remaining = 0;
		let multiplier = 1;
		for (let i = 1; i < 5; i++) {
			if (i >= head.length)
				return undefined;
			const byte = head[i];
			remaining += (byte & 127) * multiplier;
			if (!(byte & 128)) {
				if (remaining > this.#maxPacket)
					throw new MalformedPacket(`remaining length ${remaining} exceeds the ${this.#maxPacket}-byte limit`);
				if ((head[0] >> 4) === 0 || (head[0] >> 4) === 15)
					throw new MalformedPacket(`reserved packet type ${head[0] >> 4}`);
				return { headerLength: i + 1, remaining };
			}
			multiplier *= 128;
		}
		throw new MalformedPacket("remaining length longer than four bytes");
	}

	#peek(count: number): Uint8Array {
		const first = this.#pending[0];
		if (first.length >= count)
			return first.subarray(0, count);
		return concat(this.#pending).subarray(0, count);
	}

	#take(count: number): Uint8Array {
		const result = new Uint8Array(count);
		let filled = 0;
		while (filled < count) {
			const first = this.#pending[0];
			const part = Math.min(first.length, count - filled);
			result.set(first.subarray(0, part), filled);
			filled += part;
			if (part === first.length)
				this.#pending.shift();
			else
				this.#pending[0] = first.subarray(part);
		}
		this.#pendingLength -= count;
		return result;
	}
}

export interface Connack {
	sessionPresent: boolean;
	returnCode: number;
}

export function decodeConnack(packet: RawPacket): Connack {
	if ((packet.flags !== 0) || (packet.body.length !== 2) || (packet.body[0] & 0xFE))
		throw new MalformedPacket("CONNACK");
	return { sessionPresent: (packet.body[0] & 1) === 1, returnCode: packet.body[1] };
}

export function decodePacketId(packet: RawPacket, flags: number, name: string): number {
	if ((packet.flags !== flags) || (packet.body.length !== 2))
		throw new MalformedPacket(name);
	const id = (packet.body[0] << 8) | packet.body[1];
	if (!id)
		throw new MalformedPacket(`${name} with packet identifier 0`);
	return id;
}

export function decodeSuback(packet: RawPacket): { packetId: number; granted: number[] } {
	if ((packet.flags !== 0) || (packet.body.length < 3))
		throw new MalformedPacket("SUBACK");
	const packetId = (packet.body[0] << 8) | packet.body[1];
	const granted = Array.from(packet.body.subarray(2));
	if (!packetId || granted.some((code) => (code > 2) && (code !== 0x80)))
		throw new MalformedPacket("SUBACK with an invalid return code or packet identifier");
	return { packetId, granted };
}

export interface IncomingPublish {
	topic: string;
	qos: 0 | 1 | 2;
	packetId: number;
	dup: boolean;
	retain: boolean;
	payload: Uint8Array;
}

export function decodePublish(packet: RawPacket): IncomingPublish {
	const qos = (packet.flags >> 1) & 3;
	if (qos === 3)
		throw new MalformedPacket("PUBLISH with QoS 3");
	const body = packet.body;
	if (body.length < 2)
		throw new MalformedPacket("PUBLISH too short");
	const topicLength = (body[0] << 8) | body[1];
	let offset = 2 + topicLength;
	if (offset + (qos ? 2 : 0) > body.length)
		throw new MalformedPacket("PUBLISH topic overruns the packet");
	let topic: string;
	try {
		topic = utf8Decode(body.subarray(2, offset));
	}
	catch {
		throw new MalformedPacket("PUBLISH topic is not UTF-8");
	}
	let packetId = 0;
	if (qos) {
		packetId = (body[offset] << 8) | body[offset + 1];
		if (!packetId)
			throw new MalformedPacket("PUBLISH with packet identifier 0");
		offset += 2;
	}
	return { topic, qos: qos as 0 | 1 | 2, packetId, dup: (packet.flags & 8) !== 0, retain: (packet.flags & 1) !== 0, payload: body.subarray(offset) };
}
