/*
 * Moddable's `flash` module for the simulator host (flash.c): the shape of
 * modules/files/flash/flash.js, a host object per open partition, with the
 * ESP32 implementation's names, bounds, errors and NOR semantics.
 */
class Flash extends Native("xs_flash_destructor") {
	constructor(partition: string) {
		super();
		native("xs_flash").call(this, partition);
	}

	get byteLength(): number {
		return native("xs_flash_byteLength").call(this);
	}
	get blockSize(): number {
		return native("xs_flash_blockSize").call(this);
	}

	erase(sector: number): void {
		return native("xs_flash_erase").call(this, sector);
	}

	read(offset: number, byteLength: number): ArrayBuffer {
		return native("xs_flash_read").call(this, offset, byteLength);
	}

	write(offset: number, byteLength: number, buffer: ArrayBuffer | ArrayBufferView): void {
		return native("xs_flash_write").call(this, offset, byteLength, buffer);
	}
}

Object.freeze(Flash.prototype);

export default Flash;
