/*
 * Read-only data built into the firmware image (the face detection model).
 * On the device and on lin it is Moddable's Resource: mapped from flash,
 * never copied into RAM. The simulator host reads it from the folder that its
 * --resources option names.
 */
declare module "hardware/resource" {
	export default function resource(name: string): ArrayBuffer | HostBuffer;
	export function hasResource(name: string): boolean;
}
