/*
 * What the stores need from flash: Moddable's `flash` API, so the device's
 * partition, the simulator's file-backed one and a test's in-memory one all fit.
 * Writes can only clear bits; erasing a 4 KiB sector sets it to 0xFF.
 */
export interface FlashRegion {
	readonly byteLength: number;
	readonly blockSize: number;
	read(offset: number, byteLength: number): ArrayBuffer;
	write(offset: number, byteLength: number, buffer: ArrayBuffer | Uint8Array): void;
	erase(sector: number): void;
	/**
	 * Present on a partition whose records and counters are authenticated
	 * (recordRegion() in store/record); store/record and store/counter refuse
	 * a region without it.
	 */
	readonly recordKey?: RecordKey;
}

/** What binds a partition's records to this device and to their place: see store/record. */
export interface RecordKey {
	/** The partition's name, bound into every MAC. */
	readonly partition: string;
	/** The record type a sector holds (store/layout), bound into its MAC; undefined for a sector that holds none. */
	typeOf(sector: number): string | undefined;
	/** HMAC-SHA-256 of `message` under the device's record key (32 bytes). */
	mac(message: Uint8Array): Uint8Array;
}

/** Moddable's `flash` object as the stores see it: reads as ArrayBuffers, never mapped HostBuffers. */
export function flashRegion(flash: {
	readonly byteLength: number;
	readonly blockSize: number;
	read(offset: number, byteLength: number): unknown;
	write(offset: number, byteLength: number, buffer: ArrayBuffer | Uint8Array): void;
	erase(sector: number): void;
}): FlashRegion {
	return Object.freeze({
		byteLength: flash.byteLength,
		blockSize: flash.blockSize,
		read: (offset: number, byteLength: number) => flash.read(offset, byteLength) as ArrayBuffer,
		write: (offset: number, byteLength: number, buffer: ArrayBuffer | Uint8Array) => flash.write(offset, byteLength, buffer),
		erase: (sector: number) => flash.erase(sector),
	});
}
