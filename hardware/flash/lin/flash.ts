/*
 * Moddable's `flash` module for the lin simulator, where Moddable has none:
 * each data partition of the board's partitions.csv (a data resource here,
 * so the simulator's partitions are the device's, size for size) is a file
 * under Moddable's file root, /tmp/doorward-lin-<name>.flash, kept across runs.
 *
 * It behaves as NOR flash does, which the stores rely on: a new partition
 * reads as erased (0xFF), write() can only clear bits, and erase() sets a
 * whole 4 KiB sector back to 0xFF. Each write is flushed, so a killed
 * simulator keeps what it wrote. There is no map(): nothing is memory-mapped.
 */
import Resource from "Resource";
import { File } from "file";
import config from "mc/config";

const blockSize = 4096;
const partitionTable = "partitions.csv";

/** The size of data partition `name` in an ESP-IDF partition table (hex, decimal, K or M). */
function partitionSize(name: string): number {
	const table = String.fromArrayBuffer(new Resource(partitionTable).slice(0));
	for (const line of table.split("\n")) {
		const fields = line.split("#")[0].split(",").map((field) => field.trim());
		if ((fields.length < 5) || (fields[0] !== name) || (fields[1] !== "data"))
			continue;
		const size = /^(0x[0-9a-f]+|\d+)([KM]?)$/i.exec(fields[4]);
		if (!size)
			break;
		return Number(size[1]) * ({ "": 1, k: 1024, m: 1048576 } as Record<string, number>)[size[2].toLowerCase()];
	}
	throw new Error(`flash: no data partition ${name} in ${partitionTable}`);
}

function erased(byteLength: number): ArrayBuffer {
	return new Uint8Array(byteLength).fill(0xFF).buffer;
}

class Flash {
	#file: File;
	#byteLength: number;

	constructor(partition: string) {
		if (typeof partition !== "string")
			throw new TypeError("flash: lin opens partitions by name only");
		this.#byteLength = partitionSize(partition);
		const path = `${config.file.root}doorward-lin-${partition}.flash`;
		this.#file = new File(path, true);
		if (this.#file.length !== this.#byteLength) {
			// New, or made for another partition table: start erased, as a freshly flashed table does.
			this.#file.close();
			File.delete(path);
			this.#file = new File(path, true);
			this.#file.write(erased(this.#byteLength));
		}
	}

	get byteLength(): number {
		return this.#byteLength;
	}
	get blockSize(): number {
		return blockSize;
	}

	read(offset: number, byteLength: number): ArrayBuffer {
		this.#check(offset, byteLength);
		if (!byteLength)
			return new ArrayBuffer(0);
		this.#file.position = offset;
		return this.#file.read(ArrayBuffer, byteLength);
	}

	write(offset: number, byteLength: number, buffer: ArrayBuffer | ArrayBufferView): void {
		this.#check(offset, byteLength);
		const source = ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
		if ((byteLength <= 0) || (source.length < byteLength))
			throw new RangeError("flash: invalid write length");
		const cells = new Uint8Array(this.read(offset, byteLength));
		for (let i = 0; i < byteLength; i++)
			cells[i] &= source[i];
		this.#file.position = offset;
		this.#file.write(cells.buffer);
	}

	erase(sector: number): void {
		if (!Number.isInteger(sector) || (sector < 0) || (sector >= this.#byteLength / blockSize))
			throw new RangeError(`flash: no sector ${sector}`);
		this.#file.position = sector * blockSize;
		this.#file.write(erased(blockSize));
	}

	#check(offset: number, byteLength: number): void {
		if (!Number.isInteger(offset) || !Number.isInteger(byteLength) || (offset < 0) || (byteLength < 0) || (offset + byteLength > this.#byteLength))
			throw new RangeError(`flash: ${byteLength} bytes at ${offset} are outside the partition`);
	}
}

Object.freeze(Flash.prototype);

export default Flash;
