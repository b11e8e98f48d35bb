// Placeholder while the codecs are written (issue 5); replaced in the same change.
export function decodeJpeg(): never {
	throw new Error("image: not built yet");
}
