// Moddable's camera module as the device has it: modules/io/imagein/camera/esp32/camera.js
// and camera.c (Moddable SDK 8.2.3). The SDK ships no typings for it (neither
// node_modules/@moddable/typings nor the SDK's typings/ folder); this declares
// only what Doorward uses, and nothing the object lacks. The simulator's and
// lin's stand-ins (hardware/camera/host/sensor.ts) implement the same contract.
declare module "embedded:io/image/in/camera" {
	// The frame and the options are declared once, in hardware/camera/frame.ts,
	// so the simulator's and lin's implementations of this module can name
	// them without importing themselves.
	import type { DisposableFrame, SensorOptions } from "hardware/camera/frame";
	export type { DisposableFrame, SensorOptions };
	export default class Camera {
		constructor(options: SensorOptions);
		/** The size the sensor really produces. */
		readonly width: number;
		readonly height: number;
		start(): void;
		/** Stops capturing, frees every frame buffer and detaches the frames still held. */
		stop(): void;
		/** The oldest captured frame not yet read, or undefined: a DisposableFrame under "buffer/disposable", an ArrayBuffer under "buffer". */
		read(): DisposableFrame | ArrayBuffer | undefined;
		close(): void;
	}
}
