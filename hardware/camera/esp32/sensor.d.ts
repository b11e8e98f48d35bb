// Moddable ships no typings for its camera module; this covers what Doorward uses.
// Source of truth: $(MODDABLE)/modules/io/imagein/camera/esp32/camera.js.
declare module "embedded:io/image/in/camera" {
	export interface DisposableFrame {
		readonly byteLength: number;
		slice(begin: number, end?: number): ArrayBuffer;
		close(): void;
	}
	export interface SensorOptions {
		width?: number;
		height?: number;
		imageType?: number | "jpeg";
		format?: "buffer" | "buffer/disposable";
		onReadable?: (count: number) => void;
		target?: unknown;
	}
	export default class SensorCamera {
		constructor(options: SensorOptions);
		readonly width: number;
		readonly height: number;
		start(): void;
		stop(): void;
		read(): DisposableFrame | undefined;
		close(): void;
	}
}
