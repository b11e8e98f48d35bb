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
