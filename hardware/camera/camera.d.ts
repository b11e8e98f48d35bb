/*
 * The camera, as the firmware sees it on every platform: JPEG frames, pushed
 * at the sensor's rate while started. Each platform's camera.ts implements
 * this: hardware/camera/moddable/camera.ts on every platform, over Moddable's
 * embedded:io/image/in/camera (the device's, or the simulator's and lin's
 * stand-ins for it).
 */
declare module "hardware/camera" {
	export interface CameraOptions {
		/** Requested size; the sensor snaps it to a size it supports: read width/height back. */
		width: number;
		height: number;
		/** Called when a frame is ready to read (read() until it returns undefined). */
		onReadable?: () => void;
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
