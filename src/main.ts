/*
 * Boot: configuration, identity, then the pipeline. A device with no
 * configuration asks for one on its provisioning channel and stores it.
 */
import Flash from "flash";
import MqttClient from "mqtt/client";
import Capture from "pipeline/capture";
import Doorbell from "pipeline/doorbell";
import Publisher from "pipeline/publisher";
import Triggers from "pipeline/triggers";
import { developmentSealer } from "pipeline/envelope";
import { loadConfiguration, parseConfiguration, storeConfiguration } from "device/configuration";
import type { Configuration } from "device/configuration";
import { loadOrCreateIdentity } from "device/identity";
import { log } from "device/log";
import Counter from "store/counter";
import { flashRegion } from "store/flash-region";
import type { FlashRegion } from "store/flash-region";
import { MemoryOutbox } from "store/outbox";
import { requestConfiguration } from "hardware/provisioning";
import { show } from "hardware/status";

/** The data partition in the board's partitions.csv. */
const partition = "doorward";
const sequenceSector = 2;
const outboxCapacity = 16;

async function configure(flash: FlashRegion): Promise<Configuration> {
	const stored = loadConfiguration(flash);
	if (stored)
		return stored;
	show("provisioning");
	log.info("no configuration: waiting for provisioning");
	for (;;) {
		const message = new Uint8Array(await requestConfiguration());
		try {
			const configuration = parseConfiguration(message);
			storeConfiguration(flash, configuration);
			log.info("configuration stored");
			return configuration;
		}
		catch (error) {
			log.error(`provisioning refused: ${(error as Error).message}`);
		}
	}
}

async function boot(): Promise<void> {
	show("booting");
	const flash = flashRegion(new Flash(partition));
	const configuration = await configure(flash);
	const { identity, created } = loadOrCreateIdentity(flash);
	log.info(`${created ? "new" : "stored"} identity, device ${identity.deviceId}`);

	const outbox = new MemoryOutbox(outboxCapacity);
	let publisher: Publisher | undefined = undefined;
	const client = new MqttClient({
		address: configuration.broker.address,
		port: configuration.broker.port,
		...((configuration.broker.username !== undefined) ? { username: configuration.broker.username, password: configuration.broker.password } : {}),
		clientId: `dw${identity.topicId.slice(0, 20)}`,
		keepAliveSeconds: configuration.keepAliveSeconds,
		onConnect() {
			log.info(`connected to ${configuration.broker.address}:${configuration.broker.port}`);
			show("online");
			publisher!.onConnect();
		},
		onDisconnect(reason) {
			log.warn(`disconnected: ${reason}`);
			show("offline", { reason });
			publisher!.onDisconnect();
		},
		onPuback(packetId) {
			publisher!.onPuback(packetId);
		},
	});
	publisher = new Publisher(client, outbox, (event) => {
		log.info(`published ${event.kind} event ${event.eventId}`);
		show("online", { published: event.eventId });
	});
	const doorbell = new Doorbell({
		identity,
		configuration,
		capture: new Capture(configuration.burst.width, configuration.burst.height),
		sealer: developmentSealer,
		sequence: new Counter(flash, sequenceSector),
		outbox,
		publisher,
	});
	new Triggers({ onTrigger: (kind) => doorbell.trigger(kind) });
	show("connecting");
	client.start();
}

boot().catch((error: Error) => {
	log.error(`boot failed: ${error.message}`);
	show("fault", { reason: error.message });
});
