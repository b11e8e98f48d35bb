/*
 * The outbound queue on flash: every sealed event is written here before it
 * is published, and leaves only when the broker has acknowledged it. It
 * survives broker outages, network drops and power cuts.
 *
 * The partition is split into equal slots (64 KiB by default), one event per
 * slot. A slot holds
 *
 *   header (48 bytes) | payload (length bytes) | topic (UTF-8)
 *   header = "DWQ1" | state (1) | kind (1) | topic length (1) | 0 (1)
 *            | order (4) | payload length (4) | CRC-32 of payload and topic (4)
 *            | event id (16) | reserved, zero (12)
 *
 * (big-endian). Writes go payload first, topic next, the header after
 * them and its magic last, so a slot with its magic describes a whole event;
 * a cut earlier leaves a slot that reads as free. Removing an event clears its
 * state byte (a NOR write that needs no erase), so a cut after the PUBACK
 * leaves either a pending event (sent again; the phone drops the duplicate
 * by event id) or a removed one, never a half-removed one.
 *
 * Policy when every slot is taken: the oldest motion event is dropped to make
 * room; a doorbell ring is never dropped; when only rings remain, the new
 * event is refused, and the caller logs that.
 */
import type { FlashRegion } from "./flash-region";
import type { EventKind, OutboundEvent, Outbox } from "./outbox";
import { crc32, fromHex, toHex, totalLength, utf8Decode, utf8Encode } from "util/bytes";

const magic = 0x44575131; // "DWQ1"
const headerSize = 48;
const statePending = 0xFF;
const stateRemoved = 0x00;
// Stored by index: a new kind goes last.
const kinds: readonly EventKind[] = Object.freeze(["ring", "motion", "face", "update", "audit"]);
const maxTopic = 200;
/** Payload bytes read per flash access while checking or streaming. */
const readChunk = 4096;

interface Slot {
	readonly index: number;
	readonly order: number;
	readonly kind: EventKind;
	readonly eventId: string;
	readonly topic: string;
	readonly length: number;
}

/** An event whose payload stays on flash and is read as it is sent. */
export interface StoredEvent extends OutboundEvent {
	/** Reads `count` bytes of the payload from `offset`. */
	read(offset: number, count: number): Uint8Array;
	readonly length: number;
}

export class FlashOutbox implements Outbox {
	#flash: FlashRegion;
	#slotSize: number;
	#slotCount: number;
	#slots: Slot[] = [];
	#nextOrder = 1;

	constructor(flash: FlashRegion, slotSize = 65536) {
		if ((slotSize % flash.blockSize) || (slotSize < flash.blockSize) || (slotSize > flash.byteLength))
			throw new RangeError(`outbox: slot size ${slotSize} must be a multiple of ${flash.blockSize} within the partition`);
		this.#flash = flash;
		this.#slotSize = slotSize;
		this.#slotCount = Math.floor(flash.byteLength / slotSize);
		this.#recover();
	}

	/** The largest payload a slot can hold with the longest topic. */
	get capacity(): number {
		return this.#slotSize - headerSize - maxTopic;
	}

	get slotCount(): number {
		return this.#slotCount;
	}

	get length(): number {
		return this.#slots.length;
	}

	get eventIds(): readonly string[] {
		return this.#slots.map((slot) => slot.eventId);
	}

	put(event: OutboundEvent): OutboundEvent | undefined {
		const topic = utf8Encode(event.topic);
		const length = totalLength(event.payload);
		if ((topic.length === 0) || (topic.length > maxTopic))
			throw new RangeError(`outbox: topic of ${topic.length} bytes`);
		if (length > this.#slotSize - headerSize - topic.length)
			throw new RangeError(`outbox: event ${event.eventId} is ${length} bytes; a slot holds ${this.#slotSize - headerSize - topic.length}`);
		if (!/^[0-9a-f]{32}$/.test(event.eventId) || !kinds.includes(event.kind))
			throw new RangeError("outbox: invalid event id or kind");
		let dropped: OutboundEvent | undefined;
		let index = this.#freeSlot();
		if (index < 0) {
			const victim = this.#slots.find((slot) => slot.kind !== "ring");
			if (!victim)
				throw new RangeError(`outbox: full of rings, ${event.kind} event ${event.eventId} refused`);
			dropped = this.#view(victim);
			this.#markRemoved(victim);
			index = victim.index;
		}
		this.#write(index, event, topic, length);
		return dropped;
	}

	peek(): StoredEvent | undefined {
		const first = this.#slots[0];
		return first ? this.#view(first) : undefined;
	}

	remove(eventId: string): boolean {
		const slot = this.#slots.find((candidate) => candidate.eventId === eventId);
		if (!slot)
			return false;
		this.#markRemoved(slot);
		return true;
	}

	#base(index: number): number {
		return index * this.#slotSize;
	}

	#freeSlot(): number {
		const used = new Set(this.#slots.map((slot) => slot.index));
		// Start after the newest slot, so writes rotate through the partition.
		const newest = this.#slots.length ? this.#slots[this.#slots.length - 1].index : -1;
		for (let step = 1; step <= this.#slotCount; step++) {
			const index = (newest + step) % this.#slotCount;
			if (!used.has(index))
				return index;
		}
		return -1;
	}

	#write(index: number, event: OutboundEvent, topic: Uint8Array, length: number): void {
		const flash = this.#flash;
		const base = this.#base(index);
		const sectors = this.#slotSize / flash.blockSize;
		for (let sector = 0; sector < sectors; sector++)
			flash.erase(base / flash.blockSize + sector);
		let offset = base + headerSize;
		for (const part of event.payload) {
			for (let done = 0; done < part.length; done += readChunk) {
				const piece = part.subarray(done, Math.min(part.length, done + readChunk));
				flash.write(offset, piece.length, piece);
				offset += piece.length;
			}
		}
		flash.write(offset, topic.length, topic);
		const crc = this.#storedCrc(base, length + topic.length);
		const order = this.#nextOrder++;
		const header = new Uint8Array(headerSize);
		const view = new DataView(header.buffer);
		view.setUint32(0, magic);
		header[4] = statePending;
		header[5] = kinds.indexOf(event.kind);
		header[6] = topic.length;
		view.setUint32(8, order);
		view.setUint32(12, length);
		view.setUint32(16, crc);
		header.set(fromHex(event.eventId), 20);
		// Bytes 36-47 stay zero: reserved. The magic goes last, on its own: a
		// cut half-way through the header leaves no magic, not a header with
		// a half-written event id.
		flash.write(base + 4, headerSize - 4, header.subarray(4));
		flash.write(base, 4, header.subarray(0, 4));
		this.#slots.push({ index, order, kind: event.kind, eventId: event.eventId, topic: event.topic, length });
	}

	/** CRC-32 of what flash holds after the header, read back: what is checked is what was stored. */
	#storedCrc(base: number, length: number): number {
		let crc = 0;
		for (let done = 0; done < length; done += readChunk)
			crc = crc32(new Uint8Array(this.#flash.read(base + headerSize + done, Math.min(readChunk, length - done))), crc);
		return crc;
	}

	#markRemoved(slot: Slot): void {
		this.#flash.write(this.#base(slot.index) + 4, 1, Uint8Array.of(stateRemoved));
		this.#slots = this.#slots.filter((candidate) => candidate !== slot);
	}

	#view(slot: Slot): StoredEvent {
		const flash = this.#flash;
		const base = this.#base(slot.index) + headerSize;
		const read = (offset: number, count: number): Uint8Array => {
			if ((offset < 0) || (count < 0) || (offset + count > slot.length))
				throw new RangeError("outbox: read outside the event");
			return new Uint8Array(flash.read(base + offset, count));
		};
		// `payload` reads the event whole: for callers that cannot stream.
		return {
			eventId: slot.eventId,
			kind: slot.kind,
			topic: slot.topic,
			length: slot.length,
			read,
			get payload() {
				return [read(0, slot.length)];
			},
		};
	}

	/** Rebuilds the queue from flash after a boot: whole, pending events only, oldest first. */
	#recover(): void {
		const found: Slot[] = [];
		for (let index = 0; index < this.#slotCount; index++) {
			const base = this.#base(index);
			const header = new Uint8Array(this.#flash.read(base, headerSize));
			const view = new DataView(header.buffer);
			if ((view.getUint32(0) !== magic) || (header[4] !== statePending))
				continue;
			const kind = kinds[header[5]];
			const topicLength = header[6];
			const length = view.getUint32(12);
			if (!kind || !topicLength || (topicLength > maxTopic) || (length > this.#slotSize - headerSize - topicLength))
				continue;
			if (this.#storedCrc(base, length + topicLength) !== view.getUint32(16))
				continue;
			let topic: string;
			try {
				topic = utf8Decode(new Uint8Array(this.#flash.read(base + headerSize + length, topicLength)));
			}
			catch {
				continue;
			}
			found.push({ index, order: view.getUint32(8), kind, eventId: toHex(header.subarray(20, 36)), topic, length });
		}
		found.sort((a, b) => a.order - b.order);
		this.#slots = found;
		this.#nextOrder = found.length ? found[found.length - 1].order + 1 : 1;
	}
}

Object.freeze(FlashOutbox.prototype);
