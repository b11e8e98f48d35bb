/*
 * The outbound queue on flash: every sealed event is written here before it
 * is published, and leaves only when the broker has acknowledged it. It
 * survives broker outages, network drops and power cuts.
 *
 * The partition is split into equal slots (64 KiB by default). An event
 * takes one slot, or as many consecutive slots as it needs (a clip of 30
 * frames is several hundred KB; a ring's notification is 30 KB, one slot),
 * up to half the partition. Its first slot holds
 *
 *   header (48 bytes) | payload (length bytes) | topic (UTF-8)
 *
 * running on into the next slots; the slots an event spans follow from its
 * length. The other slots of its span hold no header, only its bytes.
 *
 *   header = "DWQ1" | state (1) | kind (1) | topic length (1) | flags (1)
 *            | order (4) | payload length (4) | CRC-32 of payload and topic (4)
 *            | event id (16) | reserved, zero (12)
 *
 * (big-endian). Flags: bit 0 set on a ring's clip (it follows its
 * notification); the other bits are zero. Writes go payload first, topic next, the header after
 * them and its magic last, so a slot with its magic describes a whole event;
 * a cut earlier leaves a slot that reads as free. Removing an event clears its
 * state byte (a NOR write that needs no erase), so a cut after the PUBACK
 * leaves either a pending event (sent again; the phone drops the duplicate
 * by event id) or a removed one, never a half-removed one.
 *
 * Policy when no run of free slots is long enough: the oldest motion (and
 * face) events are dropped to make room, then, for a ring's notification or
 * clip only, the oldest rings' clips; a ring's notification is never dropped; when only notifications remain in
 * the way, the new event is refused, and the caller logs that. A
 * notification is never lost for lack of room taken by clips.
 *
 * Recovery reads every slot's first 48 bytes: a slot inside another event's
 * span holds payload bytes there, which pass for a header only if they also
 * pass the CRC-32 check, and a span that would overlap a newer event is
 * dropped.
 */
import type { FlashRegion } from "./flash-region";
import type { EventKind, OutboundEvent, Outbox } from "./outbox";
import { isNotification } from "./outbox";
import { crc32, fromHex, toHex, totalLength, utf8Decode, utf8Encode } from "util/bytes";

const magic = 0x44575131; // "DWQ1"
const headerSize = 48;
const statePending = 0xFF;
const stateRemoved = 0x00;
// Stored by index: a new kind goes last.
const kinds: readonly EventKind[] = Object.freeze(["ring", "motion", "face", "update", "audit"]);
const maxTopic = 200;
const flagFollowUp = 0x01;
/** Payload bytes read per flash access while checking or streaming. */
const readChunk = 4096;

interface Slot {
	readonly index: number;
	readonly order: number;
	readonly kind: EventKind;
	readonly eventId: string;
	readonly topic: string;
	readonly length: number;
	/** Slots it spans, from `index`. */
	readonly span: number;
	readonly followUp: boolean;
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
	/** The most slots one event may span: half the partition, so that one clip never takes it all. */
	#maxSpan: number;
	#slots: Slot[] = [];
	#nextOrder = 1;

	constructor(flash: FlashRegion, slotSize = 65536) {
		if ((slotSize % flash.blockSize) || (slotSize < flash.blockSize) || (slotSize > flash.byteLength))
			throw new RangeError(`outbox: slot size ${slotSize} must be a multiple of ${flash.blockSize} within the partition`);
		this.#flash = flash;
		this.#slotSize = slotSize;
		this.#slotCount = Math.floor(flash.byteLength / slotSize);
		this.#maxSpan = Math.max(1, Math.floor(this.#slotCount / 2));
		this.#recover();
	}

	/** The largest payload an event can hold with the longest topic. */
	get capacity(): number {
		return (this.#maxSpan * this.#slotSize) - headerSize - maxTopic;
	}

	#spanOf(length: number, topicLength: number): number {
		return Math.ceil((headerSize + length + topicLength) / this.#slotSize);
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

	put(event: OutboundEvent): OutboundEvent[] {
		const topic = utf8Encode(event.topic);
		const length = totalLength(event.payload);
		if ((topic.length === 0) || (topic.length > maxTopic))
			throw new RangeError(`outbox: topic of ${topic.length} bytes`);
		const span = this.#spanOf(length, topic.length);
		if (span > this.#maxSpan)
			throw new RangeError(`outbox: event ${event.eventId} is ${length} bytes; an event holds at most ${(this.#maxSpan * this.#slotSize) - headerSize - topic.length} (${this.#maxSpan} slots)`);
		if (!/^[0-9a-f]{32}$/.test(event.eventId) || !kinds.includes(event.kind))
			throw new RangeError("outbox: invalid event id or kind");
		let index = this.#freeRun(span, new Set());
		const dropped: OutboundEvent[] = [];
		if (index < 0) {
			// Victims in the order of the policy, until a run is free; then only those in the run go.
			const clips = (event.kind === "ring") ? this.#slots.filter((slot) => (slot.kind === "ring") && slot.followUp) : [];
			const candidates = [...this.#slots.filter((slot) => slot.kind !== "ring"), ...clips];
			const freed = new Set<Slot>();
			for (const victim of candidates) {
				freed.add(victim);
				index = this.#freeRun(span, freed);
				if (index >= 0)
					break;
			}
			if (index < 0)
				throw new RangeError(`outbox: full of rings, ${event.kind} event ${event.eventId} refused`);
			for (const victim of candidates) {
				if (freed.has(victim) && (victim.index < index + span) && (index < victim.index + victim.span)) {
					dropped.push(this.#view(victim));
					this.#markRemoved(victim);
				}
			}
		}
		this.#write(index, span, event, topic, length);
		return dropped;
	}

	peek(): StoredEvent | undefined {
		const first = this.#slots.find(isNotification) ?? this.#slots[0];
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

	/**
	 * The first slot of `span` consecutive free slots (counting those of
	 * `freed` as free), searching from after the newest event so that writes
	 * rotate through the partition; -1 if there is none.
	 */
	#freeRun(span: number, freed: ReadonlySet<Slot>): number {
		const used = new Uint8Array(this.#slotCount);
		for (const slot of this.#slots) {
			if (!freed.has(slot))
				used.fill(1, slot.index, slot.index + slot.span);
		}
		const newest = this.#slots.length ? this.#slots[this.#slots.length - 1] : undefined;
		const from = newest ? newest.index + newest.span : 0;
		for (let step = 0; step < this.#slotCount; step++) {
			const start = (from + step) % this.#slotCount;
			if ((start + span <= this.#slotCount) && !used.subarray(start, start + span).includes(1))
				return start;
		}
		return -1;
	}

	#write(index: number, span: number, event: OutboundEvent, topic: Uint8Array, length: number): void {
		const flash = this.#flash;
		const base = this.#base(index);
		// Only the sectors the event reaches: an erase is the slowest flash step (tens of ms a
		// sector), and recovery reads nothing past an event but the next slot's first bytes,
		// which an event that reaches them has erased and written.
		const sectors = Math.ceil((headerSize + length + topic.length) / flash.blockSize);
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
		header[7] = event.followUp ? flagFollowUp : 0;
		view.setUint32(8, order);
		view.setUint32(12, length);
		view.setUint32(16, crc);
		header.set(fromHex(event.eventId), 20);
		// Bytes 36-47 stay zero: reserved. The magic goes last, on its own: a
		// cut half-way through the header leaves no magic, not a header with
		// a half-written event id.
		flash.write(base + 4, headerSize - 4, header.subarray(4));
		flash.write(base, 4, header.subarray(0, 4));
		this.#slots.push({ index, order, kind: event.kind, eventId: event.eventId, topic: event.topic, length, span, followUp: event.followUp === true });
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
			...(slot.followUp ? { followUp: true } : {}),
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
			const flags = header[7];
			const length = view.getUint32(12);
			if (!kind || !topicLength || (topicLength > maxTopic) || (flags & ~flagFollowUp))
				continue;
			const span = this.#spanOf(length, topicLength);
			if ((span > this.#maxSpan) || (index + span > this.#slotCount))
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
			found.push({ index, order: view.getUint32(8), kind, eventId: toHex(header.subarray(20, 36)), topic, length, span, followUp: (flags & flagFollowUp) !== 0 });
		}
		// Newest first: an older span that overlaps a newer event is stale (its slots were erased and reused).
		found.sort((a, b) => b.order - a.order);
		const covered = new Uint8Array(this.#slotCount);
		const kept: Slot[] = [];
		for (const slot of found) {
			if (covered.subarray(slot.index, slot.index + slot.span).includes(1))
				continue;
			covered.fill(1, slot.index, slot.index + slot.span);
			kept.push(slot);
		}
		kept.reverse();
		this.#slots = kept;
		found.sort((a, b) => a.order - b.order);
		// After the highest order found, kept or not, so that orders never repeat.
		this.#nextOrder = found.length ? found[found.length - 1].order + 1 : 1;
	}
}

Object.freeze(FlashOutbox.prototype);
