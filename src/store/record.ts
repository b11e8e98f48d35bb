/*
 * One small record per flash sector, authenticated with the device's record
 * key (the `doorward` partition: store/layout, src/device/keys.ts):
 *
 *   offset  0  "DWR2"                 the commit word: written last, on its own
 *           4  u32 CRC-32 of bytes 8 to the end of the payload
 *           8  u32 payload length
 *          12  MAC, 32 bytes: HMAC-SHA-256 under the record key of
 *              "doorward/record/v2" 0 | partition 0 | type 0 | u32 sector | u32 length | payload
 *          44  payload                                                          (big-endian)
 *
 * The MAC binds the record to this device (the key is the device's own, made
 * at first boot), to its place (partition and sector) and to what it is (the
 * record type of the layout, and the format version in the label): a record
 * copied from another sector, partition or device does not authenticate.
 *
 * A sector reads as:
 * - absent: erased, or its first word is not a commit word. A power cut
 *   while writing leaves this: the body goes first and the commit word only
 *   once the body is whole (a half-programmed commit word is not one); a
 *   rewrite clears the old commit word before it erases, so a torn erase
 *   cannot leave an old commit word over a half-erased body.
 * - its payload: committed, and the CRC and the MAC hold.
 * - refused (throws, with the reason, and nothing is returned): committed
 *   with a CRC that fails (the flash changed after the record was whole:
 *   decay or tampering), or a CRC that holds with a MAC that does not
 *   (forged, moved, or another device's), or a "DWR1" record of the format
 *   before records were authenticated (no device with one was ever shipped:
 *   it is refused, not migrated; erase the flash and provision again).
 * A power cut can therefore make a record absent, never refused; erasing a
 * sector on purpose makes it absent too (docs/threat-model.md).
 *
 * Rewriting loses the old value if the power is cut: records hold data
 * written once (configuration, identity), not counters (see counter.ts).
 *
 * Plain records (readPlainRecord, writePlainRecord) are the "DWR1" frame, a
 * CRC and no MAC, for contents that authenticate themselves: the
 * simulator's sealed keystore entries. They are written the same way.
 */
import type { FlashRegion, RecordKey } from "./flash-region";
import { crc32, equal, utf8Encode } from "util/bytes";

const committed = 0x44575232; // "DWR2"
// "DWR1": refused in the doorward partition. A cut while "DWR2" (or the 0
// that revokes it) is programmed cannot leave it: that clears bits, and
// "DWR1" has a bit set that "DWR2" has clear.
const plain = 0x44575231;
const headerSize = 44;
const plainHeaderSize = 12;
const macSize = 32;

/** Partition and record type names: no 0, which separates them in the MAC. */
const isName = (name: string) => /^[a-z][A-Za-z0-9-]*$/.test(name);

/** The largest payload an authenticated record holds in one sector. */
export function maxRecordPayload(flash: FlashRegion): number {
	return flash.blockSize - headerSize;
}

/**
 * The partition `flash` with the key that authenticates its records: `types`
 * names the record type held from each sector (store/layout's Sectors), `mac`
 * is HMAC-SHA-256 under the record key.
 */
export function recordRegion(flash: FlashRegion, partition: string, types: Readonly<Record<string, number>>, mac: (message: Uint8Array) => Uint8Array): FlashRegion {
	if (!isName(partition))
		throw new RangeError(`record: invalid partition name ${partition}`);
	const names: string[] = [];
	for (const [name, sector] of Object.entries(types)) {
		if (!isName(name) || !Number.isInteger(sector) || (sector < 0) || ((sector + 1) * flash.blockSize > flash.byteLength) || (names[sector] !== undefined))
			throw new RangeError(`record: invalid record type ${name} at sector ${sector}`);
		names[sector] = name;
	}
	const recordKey: RecordKey = Object.freeze({
		partition,
		typeOf: (sector: number) => names[sector],
		mac,
	});
	return Object.freeze({
		byteLength: flash.byteLength,
		blockSize: flash.blockSize,
		read: (offset: number, byteLength: number) => flash.read(offset, byteLength),
		write: (offset: number, byteLength: number, buffer: ArrayBuffer | Uint8Array) => flash.write(offset, byteLength, buffer),
		erase: (sector: number) => flash.erase(sector),
		recordKey,
	});
}

/** The record key of `flash` and the type `sector` holds; throws for a region opened without one. */
export function recordKeyOf(flash: FlashRegion, sector: number, what: string): { key: RecordKey; type: string } {
	const key = flash.recordKey;
	if (!key)
		throw new Error(`${what}: this partition was opened without its record key`);
	const type = key.typeOf(sector);
	if (type === undefined)
		throw new RangeError(`${what}: ${key.partition} sector ${sector} holds no record type`);
	return { key, type };
}

/** The MAC of `label` 0 | partition 0 | type 0 | each field as u32 | data. */
export function authenticate(key: RecordKey, label: string, type: string, fields: readonly number[], data?: Uint8Array): Uint8Array {
	const names = utf8Encode(`${label}\u0000${key.partition}\u0000${type}\u0000`);
	const message = new Uint8Array(names.length + 4 * fields.length + (data ? data.length : 0));
	message.set(names, 0);
	const view = new DataView(message.buffer);
	fields.forEach((field, index) => view.setUint32(names.length + 4 * index, field));
	if (data)
		message.set(data, names.length + 4 * fields.length);
	const mac = key.mac(message);
	if (mac.length !== macSize)
		throw new Error(`record: the MAC is ${mac.length} bytes, not ${macSize}`);
	return mac;
}

function word(value: number): Uint8Array {
	const bytes = new Uint8Array(4);
	new DataView(bytes.buffer).setUint32(0, value);
	return bytes;
}

function isErased(bytes: Uint8Array): boolean {
	for (let i = 0; i < bytes.length; i++) {
		if (bytes[i] !== 0xFF)
			return false;
	}
	return true;
}

/** Writes `body` after the commit word of an erased `sector`, then the commit word. */
function commit(flash: FlashRegion, sector: number, body: Uint8Array, magic: number): void {
	const base = sector * flash.blockSize;
	if (!isErased(new Uint8Array(flash.read(base, flash.blockSize)))) {
		// Clear the old commit word first: an erase cut half-way may leave any
		// part of the sector as it was, and the old word must not be that part.
		flash.write(base, 4, new Uint8Array(4));
		flash.erase(sector);
	}
	flash.write(base + 4, body.length, body);
	flash.write(base, 4, word(magic));
}

export function readRecord(flash: FlashRegion, sector: number): Uint8Array | undefined {
	const { key, type } = recordKeyOf(flash, sector, "record");
	const where = `record: ${key.partition} sector ${sector} (${type})`;
	const base = sector * flash.blockSize;
	const header = new DataView(flash.read(base, headerSize));
	const first = header.getUint32(0);
	if (first === plain)
		throw new Error(`${where} is in the format of earlier firmware, without a MAC: erase the flash and provision the device again`);
	if (first !== committed)
		return undefined;
	const length = header.getUint32(8);
	if (length > maxRecordPayload(flash))
		throw new Error(`${where} is corrupt: a length of ${length} bytes`);
	const body = new Uint8Array(flash.read(base + 8, headerSize - 8 + length));
	if (crc32(body) !== header.getUint32(4))
		throw new Error(`${where} is corrupt: its CRC does not match`);
	const payload = body.slice(headerSize - 8);
	if (!equal(authenticate(key, "doorward/record/v2", type, [sector, length], payload), body.subarray(4, 4 + macSize)))
		throw new Error(`${where} does not authenticate: forged, moved from another sector, or written by another device`);
	return payload;
}

export function writeRecord(flash: FlashRegion, sector: number, payload: Uint8Array): void {
	const { key, type } = recordKeyOf(flash, sector, "record");
	if (payload.length > maxRecordPayload(flash))
		throw new RangeError(`record: ${payload.length} bytes do not fit in one ${flash.blockSize}-byte sector`);
	// Bytes 4 onwards: CRC, length, MAC, payload.
	const body = new Uint8Array(headerSize - 4 + payload.length);
	const view = new DataView(body.buffer);
	view.setUint32(4, payload.length);
	body.set(authenticate(key, "doorward/record/v2", type, [sector, payload.length], payload), 8);
	body.set(payload, headerSize - 4);
	view.setUint32(0, crc32(body.subarray(4)));
	commit(flash, sector, body, committed);
}

/** A plain record ("DWR1": length, CRC-32, no MAC), or undefined if absent; throws if it is committed but corrupt. */
export function readPlainRecord(flash: FlashRegion, sector: number): Uint8Array | undefined {
	const base = sector * flash.blockSize;
	const header = new DataView(flash.read(base, plainHeaderSize));
	if (header.getUint32(0) !== plain)
		return undefined;
	const length = header.getUint32(4);
	if (length > flash.blockSize - plainHeaderSize)
		throw new Error(`record: sector ${sector} is corrupt: a length of ${length} bytes`);
	const payload = new Uint8Array(flash.read(base + plainHeaderSize, length));
	if (crc32(payload) !== header.getUint32(8))
		throw new Error(`record: sector ${sector} is corrupt: its CRC does not match`);
	return payload;
}

export function writePlainRecord(flash: FlashRegion, sector: number, payload: Uint8Array): void {
	if (payload.length > flash.blockSize - plainHeaderSize)
		throw new RangeError(`record: ${payload.length} bytes do not fit in one ${flash.blockSize}-byte sector`);
	const body = new Uint8Array(plainHeaderSize - 4 + payload.length);
	const view = new DataView(body.buffer);
	view.setUint32(0, payload.length);
	view.setUint32(4, crc32(payload));
	body.set(payload, plainHeaderSize - 4);
	commit(flash, sector, body, plain);
}

/** Whether `sector` is erased through and through. */
export function sectorErased(flash: FlashRegion, sector: number): boolean {
	return isErased(new Uint8Array(flash.read(sector * flash.blockSize, flash.blockSize)));
}
