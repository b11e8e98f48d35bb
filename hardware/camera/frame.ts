/*
 * The frame and options of Moddable's camera module, as the device has them:
 * modules/io/imagein/camera/esp32/camera.js and camera.c (Moddable SDK
 * 8.2.3), which ship no typings. Types only: the device's declaration of
 * embedded:io/image/in/camera (esp32/sensor.d.ts) and the simulator's and
 * lin's stand-ins (sim/, lin/, host/) all take them from here.
 */

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
	/** The camera that captured it. */
	readonly camera: object;
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
	onReadable?: ((this: object, count: number) => void) | undefined;
	target?: unknown;
}
