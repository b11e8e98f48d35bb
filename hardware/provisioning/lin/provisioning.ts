/*
 * Provisioning in Moddable's lin simulator, which has no factory station:
 * the configuration message is the data resource lin-configuration.json,
 * built into the app (see manifest.json "lin" > "data"). It is the exact
 * message a station would send: UTF-8 JSON, checked by the firmware as any
 * other. Edit it and rebuild to point the simulator at another broker.
 *
 * The firmware stores what it accepts in flash, /tmp/doorward-lin-doorward.flash
 * on lin, and asks again only when that holds no configuration: delete the
 * file to provision afresh.
 *
 * A station answers each request with a message; this one has a single
 * message, so it answers once per boot. Were that refused, a second request
 * waits forever rather than receive the same refused message in a loop.
 */
import Resource from "Resource";
import { File } from "file";
import Timer from "timer";
import config from "mc/config";

const configurationResource = "lin-configuration.json";

let answered = false;

export function requestConfiguration(): Promise<ArrayBuffer> {
	if (answered) {
		trace(`lin provisioning: ${configurationResource} was refused; fix it and rebuild\n`);
		return new Promise(() => {});
	}
	answered = true;
	return new Promise((resolve) => resolve(new Resource(configurationResource).slice(0)));
}

/**
 * Pairing on lin: write the request (one JSON object) to
 * /tmp/doorward-pair.json; the reply appears in /tmp/doorward-pair-reply.json.
 * /tmp is Moddable's file root on lin; only a local user can write there.
 */
export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void {
	const requestPath = `${config.file.root}doorward-pair.json`;
	const replyPath = `${config.file.root}doorward-pair-reply.json`;
	if (File.exists(requestPath))
		File.delete(requestPath); // a request left from before boot was not made to this boot
	Timer.repeat(() => {
		if (!File.exists(requestPath))
			return;
		const file = new File(requestPath);
		const request = file.read(ArrayBuffer) as ArrayBuffer;
		file.close();
		File.delete(requestPath);
		const reply = new File(replyPath, true);
		reply.write(handler(request));
		reply.close();
	}, 500);
}
