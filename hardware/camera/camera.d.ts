/*
 * The camera, as the firmware sees it on every platform: JPEG frames, pushed
 * at the sensor's rate while started. Each platform's camera.ts implements
 * this; the device's wraps Moddable's embedded:io/image/in/camera.
 */
declare module "hardware/camera" {
	export interface CameraOptions {
		/** Requested size; the sensor snaps it to a size it supports: read width/height back. */
		width: number;
		height: number;
		/** Called when `count` frames are ready to read. */
		onReadable?: (count: number) => void;
	}

	export default class Camera {
		constructor(options: CameraOptions);
		readonly width: number;
		readonly height: number;
		readonly imageType: "jpeg";
		start(): void;
		stop(): void;
		/** The oldest unread frame (a copy the caller owns), or undefined. */
		read(): ArrayBuffer | undefined;
		close(): void;
	}
}
