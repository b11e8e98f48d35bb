// Moddable's camera module as the device has it: modules/io/imagein/camera/esp32/camera.js
// and camera.c (Moddable SDK 8.2.3). The SDK ships no typings for it (neither
// node_modules/@moddable/typings nor the SDK's typings/ folder); this declares
// only what Doorward uses, and nothing the object lacks. The simulator's and
// lin's stand-ins (hardware/camera/host/sensor.ts) implement the same contract.
declare module "embedded:io/image/in/camera" {
	/**
	 * A frame under format "buffer/disposable" (camera.c xs_camera_read): a
	 * read-only host buffer over the driver's frame buffer, with own
	 * `byteLength` and `camera` properties, and close() (camera.js's
	 * DisposableHostBuffer) as its only method. It has no slice(), and
	 * ArrayBuffer.prototype's methods refuse it: read it through a view
	 * (new Uint8Array(frame)). close() returns the buffer to the driver and
	 * detaches it; the camera's stop() detaches it too; a detached frame
	 * cannot be read (XS throws "detached buffer") and closing it again does nothing.
	 */
	export interface DisposableFrame extends HostBuffer {
		readonly camera: Camera;
		readonly byteLength: number;
		close(): void;
	}
	export interface SensorOptions {
		/** Snapped to the sensor's frame sizes (camera.c FrameSizes); default 240 x 176. */
		width?: number;
		height?: number;
		/** "jpeg", or a Commodetto pixel format number; default RGB565LE. */
		imageType?: number | "jpeg";
		/** Default "buffer"; anything but these two is RangeError "invalid format". */
		format?: "buffer" | "buffer/disposable";
		/** Called once per captured frame while started, with 0: camera.c passes no count. */
		onReadable?: ((this: Camera, count: number) => void) | undefined;
		target?: unknown;
	}
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
