/*
 * The audit log on flash: a ring of sectors (store/layout AuditSectors),
 * oldest dropped when it is full, with a "dropped" entry that says so
 * (docs/protocol/audit.md, "On flash").
 *
 *   sector = "DWL1" | u32 order | 8 bytes 0xFF | slot*
 *   slot   = u16 0xA55A | u16 entry length | entry       (big-endian)
 *
 * Power cuts. An entry's bytes go first and its slot header after them, so
 * a cut leaves the entry whole (header written) or absent (header still
 * erased, or torn so that it does not frame a whole entry). The rest of a
 * sector after a torn slot is not written again: the next entry opens the
 * next sector. A sector is taken for reuse by clearing its "DWL1" first, then
 * erasing it, then writing its new header: a torn erase leaves no "DWL1"
 * over old entries, so what a cut leaves always reads as a valid log.
 * Entries are signed by the device: an entry that frames and parses whole but
 * whose signature or chain link fails was not made by a power cut, and the
 * log refuses to open (the caller shows the reason).
 */
import type { FlashRegion } from "store/flash-region";
import { equal } from "util/bytes";
import { makeEntry, maxEntrySize, parseEntry, verifyEntry } from "./entry";
import type { AuditCrypto, AuditDetails, AuditEntry, AuditType } from "./entry";

const sectorMagic = 0x44574C31; // "DWL1"
const sectorHeaderSize = 16;
const slotMagic = 0xA55A;
const slotHeaderSize = 4;

export interface AuditLogOptions {
	flash: FlashRegion;
	/** The sectors of `flash` the log owns: first and count (at least 2). */
	firstSector: number;
	sectorCount: number;
	deviceId: string;
	crypto: AuditCrypto;
	/** Ed25519 verification under the device's own public key. */
	verify(message: Uint8Array, signature: Uint8Array): boolean;
	/** Wall-clock ms, and whether that clock was set. */
	clock(): { time: number; set: boolean };
}

interface SectorState {
	readonly index: number;
	readonly order: number;
	entries: AuditEntry[];
	/** Where the next slot goes; undefined once a torn slot or a dirty tail closed the sector. */
	end: number | undefined;
}

export class AuditLog {
	#options: AuditLogOptions;
	#sectors: SectorState[] = [];

	constructor(options: AuditLogOptions) {
		if (options.sectorCount < 2)
			throw new RangeError("audit: the log needs at least two sectors");
		this.#options = options;
		this.#load();
	}

	/** Every entry on flash, oldest first. */
	get entries(): readonly AuditEntry[] {
		return this.#sectors.flatMap((sector) => sector.entries);
	}

	get last(): AuditEntry | undefined {
		for (let i = this.#sectors.length - 1; i >= 0; i--) {
			const { entries } = this.#sectors[i];
			if (entries.length)
				return entries[entries.length - 1];
		}
		return undefined;
	}

	/** Signs the next entry and writes it whole; returns it once it is on flash. */
	append(type: AuditType, details: AuditDetails): AuditEntry {
		let entry = this.#next(type, details);
		if (!this.#fits(entry.bytes.length)) {
			this.#openSector();
			entry = this.#next(type, details); // a "dropped" entry may have come first
		}
		this.#write(entry);
		return entry;
	}

	#next(type: AuditType, details: AuditDetails): AuditEntry {
		const last = this.last;
		const { time, set } = this.#options.clock();
		return makeEntry(this.#options.crypto, { seq: last ? last.seq + 1 : 1, time, clockSet: set, type, deviceId: this.#options.deviceId, details }, last?.hash);
	}

	#fits(length: number): boolean {
		const newest = this.#sectors[this.#sectors.length - 1];
		return !!newest && (newest.end !== undefined) && (newest.end + slotHeaderSize + length <= this.#options.flash.blockSize);
	}

	/** Takes the next sector of the ring (erasing what it held) and says what was dropped. */
	#openSector(): void {
		const { flash, firstSector, sectorCount } = this.#options;
		const newest = this.#sectors[this.#sectors.length - 1];
		const index = newest ? (newest.index + 1) % sectorCount : 0;
		const sector = firstSector + index;
		const base = sector * flash.blockSize;
		const reused = this.#sectors.find((candidate) => candidate.index === index);
		if (!erased(new Uint8Array(flash.read(base, flash.blockSize)))) {
			flash.write(base, 4, new Uint8Array(4)); // no "DWL1" survives a torn erase
			flash.erase(sector);
		}
		const order = newest ? newest.order + 1 : 1;
		const header = new Uint8Array(sectorHeaderSize).fill(0xFF);
		new DataView(header.buffer).setUint32(0, sectorMagic);
		new DataView(header.buffer).setUint32(4, order);
		flash.write(base, sectorHeaderSize, header);
		this.#sectors = this.#sectors.filter((candidate) => candidate !== reused);
		this.#sectors.push({ index, order, entries: [], end: sectorHeaderSize });
		this.#markDropped();
	}

	/**
	 * A "dropped" entry, if the oldest entry kept is not the first one ever
	 * and no entry says so yet. Where it does not fit, the next sector is
	 * taken, and that writes the dropped entry (covering this drop too).
	 */
	#markDropped(): void {
		const entries = this.entries;
		if (!entries.length)
			return;
		const through = entries[0].seq - 1;
		if ((through < 1) || entries.some((entry) => (entry.type === "dropped") && (Number(entry.details.through) >= through)))
			return;
		const marker = this.#next("dropped", { through });
		if (this.#fits(marker.bytes.length))
			this.#write(marker);
		else
			this.#openSector();
	}

	#write(entry: AuditEntry): void {
		const { flash } = this.#options;
		const newest = this.#sectors[this.#sectors.length - 1];
		if (!this.#fits(entry.bytes.length))
			throw new Error("audit: an entry written past its sector"); // #fits() is asked first: never
		const offset = (this.#options.firstSector + newest.index) * flash.blockSize + newest.end!;
		flash.write(offset + slotHeaderSize, entry.bytes.length, entry.bytes);
		const header = new Uint8Array(slotHeaderSize);
		new DataView(header.buffer).setUint16(0, slotMagic);
		new DataView(header.buffer).setUint16(2, entry.bytes.length);
		flash.write(offset, slotHeaderSize, header);
		newest.entries.push(entry);
		newest.end = newest.end! + slotHeaderSize + entry.bytes.length;
	}

	#load(): void {
		const { flash, firstSector, sectorCount, crypto, verify } = this.#options;
		const found: SectorState[] = [];
		for (let index = 0; index < sectorCount; index++) {
			const base = (firstSector + index) * flash.blockSize;
			const head = new DataView(flash.read(base, sectorHeaderSize));
			if (head.getUint32(0) !== sectorMagic)
				continue; // erased, revoked or torn: holds nothing
			const state: SectorState = { index, order: head.getUint32(4), entries: [], end: undefined };
			let offset = sectorHeaderSize;
			while (offset + slotHeaderSize <= flash.blockSize) {
				const slot = new DataView(flash.read(base + offset, slotHeaderSize));
				if ((slot.getUint16(0) === 0xFFFF) && (slot.getUint16(2) === 0xFFFF)) {
					if (erased(new Uint8Array(flash.read(base + offset, flash.blockSize - offset))))
						state.end = offset; // clean: the next entry goes here
					break;
				}
				const length = slot.getUint16(2);
				if ((slot.getUint16(0) !== slotMagic) || (length > maxEntrySize) || (offset + slotHeaderSize + length > flash.blockSize))
					break; // a torn slot header: the sector is closed
				const entry = parseEntry(new Uint8Array(flash.read(base + offset + slotHeaderSize, length)), crypto.sha256);
				if (!entry)
					break;
				if (!verifyEntry(entry, verify) || (entry.deviceId !== this.#options.deviceId))
					throw new Error(`audit: the entry ${entry.seq} on flash is not signed by this device: the log was tampered with`);
				state.entries.push(entry);
				offset += slotHeaderSize + length;
			}
			found.push(state);
		}
		found.sort((a, b) => a.order - b.order);
		this.#sectors = found;
		const entries = this.entries;
		for (let i = 1; i < entries.length; i++) {
			if ((entries[i].seq !== entries[i - 1].seq + 1) || !equal(entries[i].prev, entries[i - 1].hash))
				throw new Error(`audit: the entry ${entries[i].seq} on flash does not follow entry ${entries[i - 1].seq}: the log was tampered with`);
		}
		// A cut between taking a sector and writing its "dropped" entry: write it now.
		this.#markDropped();
	}
}

function erased(bytes: Uint8Array): boolean {
	for (let i = 0; i < bytes.length; i++) {
		if (bytes[i] !== 0xFF)
			return false;
	}
	return true;
}

Object.freeze(AuditLog.prototype);
