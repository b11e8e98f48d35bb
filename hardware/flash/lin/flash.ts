/*
 * Moddable's `flash` module for the lin simulator, where Moddable has none,
 * held to the contract of the device's (modules/files/flash/flash.js over
 * esp32/flash.c and ESP-IDF's esp_partition_*): each DATA partition of the
 * board's partitions.csv (a data resource here, so the simulator's partitions
 * are the device's, size for size) is a file under Moddable's file root,
 * /tmp/doorward-lin-<name>.flash, kept across runs.
 *
 * Names as the device resolves them: "xs" is the first partition of type
 * 0x40, subtype 1; "running" and "nextota" are app slots chosen by the boot
 * state, and lin has none (hardware/ota/lin: it runs the build mcsim loaded,
 * "factory", and has no inactive slot); any other name must be a DATA
 * partition's label. Everything else, an app slot's label such as "ota_1"
 * included, throws "can't find partition".
 *
 * It behaves as NOR flash does: a new partition reads as erased (0xFF),
 * write() can only clear bits and needs 0 < byteLength <= the buffer's length,
 * and erase() sets one 4 KiB sector back to 0xFF. Outside the partition
 * read, write and erase throw "read failed", "write failed", "erase failed",
 * as on the device. Each write is flushed, so a killed simulator keeps what
 * it wrote. There is no map() nor readString(): the firmware uses neither.
 */
import Resource from "Resource";
import { File } from "file";
import config from "mc/config";

const blockSize = 4096;
const partitionTable = "partitions.csv";

interface Partition {
	readonly name: string;
	readonly type: string;
	readonly subtype: string;
	readonly size: number;
	readonly readonly: boolean;
}

function parseNumber(text: string): number | undefined {
	const size = /^(0x[0-9a-f]+|\d+)([KM]?)$/i.exec(text);
	return size ? Number(size[1]) * ({ "": 1, k: 1024, m: 1048576 } as Record<string, number>)[size[2].toLowerCase()] : undefined;
}

/** The partitions of an ESP-IDF partition table (types and subtypes as written: "data", "0x40", "nvs"). */
function partitions(): Partition[] {
	const table = String.fromArrayBuffer(new Resource(partitionTable).slice(0));
	const found: Partition[] = [];
	for (const line of table.split("\n")) {
		const fields = line.split("#")[0].split(",").map((field) => field.trim());
		if (fields.length < 5)
			continue;
		const size = parseNumber(fields[4]);
		if (size === undefined)
			throw new Error(`flash: malformed partition table ${partitionTable}: ${line}`);
		found.push({ name: fields[0], type: fields[1], subtype: fields[2], size, readonly: (fields[5] ?? "").includes("readonly") });
	}
	return found;
}

function isType(field: string, name: string, value: number): boolean {
	return (field === name) || (parseNumber(field) === value);
}

/** The partition new Flash(name) opens on the device, or undefined where it would throw. */
function resolve(name: string): Partition | undefined {
	const table = partitions();
	if (name === "xs")
		return table.find((partition) => (parseNumber(partition.type) === 0x40) && (parseNumber(partition.subtype) === 1));
	if ((name === "running") || (name === "nextota"))
		return undefined;
	return table.find((partition) => (partition.name === name) && isType(partition.type, "data", 1));
}

function erased(byteLength: number): ArrayBuffer {
	return new Uint8Array(byteLength).fill(0xFF).buffer;
}

class Flash {
	#file: File;
	#byteLength: number;
	#readonly: boolean;

	constructor(name: string) {
		// The device converts the argument to a string, as String() does.
		const partition = resolve(String(name));
		if (!partition)
			throw new Error("can't find partition");
		this.#byteLength = partition.size;
		this.#readonly = partition.readonly;
		const path = `${config.file.root}doorward-lin-${partition.name}.flash`;
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
		offset = Math.trunc(Number(offset));
		byteLength = Math.trunc(Number(byteLength));
		// The buffer first, as the device makes it: a negative length is refused there too.
		const empty = new ArrayBuffer(byteLength);
		if (!this.#inside(offset, byteLength))
			throw new Error("read failed");
		if (!byteLength)
			return empty;
		this.#file.position = offset;
		return this.#file.read(ArrayBuffer, byteLength);
	}

	write(offset: number, byteLength: number, buffer: ArrayBuffer | ArrayBufferView): void {
		offset = Math.trunc(Number(offset));
		byteLength = Math.trunc(Number(byteLength));
		if (!(buffer instanceof ArrayBuffer) && !((buffer instanceof DataView) || (ArrayBuffer.isView(buffer) && ((buffer as Uint8Array).BYTES_PER_ELEMENT === 1))))
			throw new TypeError("invalid buffer");
		const source = ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : new Uint8Array(buffer);
		if (!(byteLength > 0) || (source.length < byteLength))
			throw new Error("invalid");
		if (this.#readonly || !this.#inside(offset, byteLength))
			throw new Error("write failed");
		const cells = new Uint8Array(this.read(offset, byteLength));
		for (let i = 0; i < byteLength; i++)
			cells[i] &= source[i];
		this.#file.position = offset;
		this.#file.write(cells.buffer);
	}

	erase(sector: number): void {
		sector = Math.trunc(Number(sector));
		if (this.#readonly || !(sector >= 0) || ((sector + 1) * blockSize > this.#byteLength))
			throw new Error("erase failed");
		this.#file.position = sector * blockSize;
		this.#file.write(erased(blockSize));
	}

	/** esp_partition_read/write's bounds: an offset past the end, or a range that ends past it, fails. */
	#inside(offset: number, byteLength: number): boolean {
		offset = Math.trunc(Number(offset));
		byteLength = Math.trunc(Number(byteLength));
		return (offset >= 0) && (byteLength >= 0) && (offset + byteLength <= this.#byteLength);
	}
}

Object.freeze(Flash.prototype);

export default Flash;
