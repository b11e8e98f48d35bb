/* `doorward app [--flash FILE] [--port N] [--scene DIR] [--network SSID:PASSPHRASE]... [--no-timeline]`. */
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { startApp } from "./server.js";
import { defaultScene, UsageError } from "../sim/run.js";
import { parseNetwork } from "../phone/commands.js";
import { simulatorBuild } from "../build/firmware.js";

/** The simulated world's Wi-Fi when none is given: a network to type into the app (nothing real joins it). */
export const defaultNetwork = { ssid: "home", passphrase: "doorward-sim" };

export async function appCommand(args: string[], say: (line: string) => void): Promise<number> {
	const { values } = parseArgs({
		args,
		options: {
			flash: { type: "string" }, port: { type: "string", default: "8470" }, scene: { type: "string" },
			network: { type: "string", multiple: true }, "no-timeline": { type: "boolean", default: false }, out: { type: "string", default: "out/app" },
		},
		strict: true,
	});
	const port = Number(values.port);
	if (!Number.isInteger(port) || (port < 0) || (port > 65535))
		throw new UsageError(`--port ${values.port}: expected a port number (0 for a free one)`);
	const build = simulatorBuild();
	if (!existsSync(build.host) || !existsSync(build.moduleMap))
		throw new UsageError(`${build.host}: the simulator host is not built; run \`npm install\``);
	const networks = values.network?.length ? values.network.map((network) => parseNetwork(network, "--network")) : [defaultNetwork];
	let app;
	try {
		app = await startApp({
			...(values.flash ? { flash: values.flash } : {}), port, scene: values.scene ?? defaultScene, timeline: !values["no-timeline"],
			networks, out: values.out!, say,
		});
	}
	catch (error) {
		if ((error as NodeJS.ErrnoException).code === "EADDRINUSE")
			throw new UsageError(`--port ${port}: in use; choose another (the app's keys live with its origin, so keep the same port between runs)`);
		throw error;
	}
	say(`app: open ${app.url}`);
	say(`app: broker ${app.broker.url}, MQTT over WebSocket ${app.broker.webSocketUrl}`);
	say(`app: Wi-Fi in range: ${networks.map((network) => `${network.ssid} (passphrase ${network.passphrase})`).join(", ")}`);
	app.label.then((label) => {
		say(`app: the device's label: setup code ${label.setupCode}, manual code ${label.manualCode}, device id ${label.deviceId}`);
		say(`app:   QR payload ${label.qr}`);
	}, (error: Error) => say(`app: the device has no label: ${error.message}`));
	const code = await new Promise<number>((resolveCode) => {
		process.once("SIGINT", () => resolveCode(130));
		process.once("SIGTERM", () => resolveCode(143));
		app.device.once("exit", () => {
			say("app: the device stopped");
			resolveCode(1);
		});
	});
	await app.close();
	return code;
}
