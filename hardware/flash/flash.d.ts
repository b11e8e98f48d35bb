/*
 * Moddable's `flash` module as the device has it: modules/files/flash/flash.js
 * over modules/files/flash/esp32/flash.c (Moddable SDK 8.2.3). The SDK's own
 * typings/flash.d.ts describes every port at once and declares what the ESP32
 * object lacks (a constructor by offset and length, read's useHostBuffer
 * argument), so this one takes its place. It declares only what the firmware
 * uses; the ESP32 object also has map() and readString(), which the
 * simulator's and lin's stand-ins (hardware/flash/sim, hardware/flash/lin) do
 * not provide.
 */
declare module "flash" {
	export default class Flash {
		/**
		 * "xs", "running", "nextota" (the app slot an update goes to), or the
		 * label of a DATA partition. Anything else, an app slot's label
		 * included, throws Error "can't find partition".
		 */
		constructor(partition: string);
		/** The partition's size in bytes. */
		readonly byteLength: number;
		/** The erase unit: 4096 (SPI_FLASH_SEC_SIZE). */
		readonly blockSize: number;
		/** Erases sector `sector` of the partition to 0xFF; Error "erase failed" outside it. */
		erase(sector: number): void;
		/** A copy of `byteLength` bytes at `offset`; Error "read failed" outside the partition. */
		read(offset: number, byteLength: number): ArrayBuffer;
		/**
		 * Programs `byteLength` bytes (0 < byteLength <= the buffer's length, else Error "invalid"):
		 * bits only go from 1 to 0. Error "write failed" outside the partition.
		 */
		write(offset: number, byteLength: number, buffer: ArrayBuffer | ArrayBufferView): void;
	}
}
