PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_usage_rollups` (
	`hour` integer NOT NULL,
	`user_id` text DEFAULT '' NOT NULL,
	`api_key_id` text DEFAULT '' NOT NULL,
	`model` text DEFAULT '' NOT NULL,
	`provider` text DEFAULT '' NOT NULL,
	`status` text DEFAULT '' NOT NULL,
	`status_code` integer DEFAULT 0 NOT NULL,
	`team_id` text DEFAULT '' NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`prompt_tokens` integer DEFAULT 0 NOT NULL,
	`completion_tokens` integer DEFAULT 0 NOT NULL,
	`total_tokens` integer DEFAULT 0 NOT NULL,
	`cost_micros` integer DEFAULT 0 NOT NULL,
	`latency_count` integer DEFAULT 0 NOT NULL,
	`latency_ms_sum` integer DEFAULT 0 NOT NULL,
	`latency_ms_max` integer DEFAULT 0 NOT NULL,
	`ttfb_count` integer DEFAULT 0 NOT NULL,
	`ttfb_ms_sum` integer DEFAULT 0 NOT NULL,
	`lat_00` integer DEFAULT 0 NOT NULL,
	`lat_01` integer DEFAULT 0 NOT NULL,
	`lat_02` integer DEFAULT 0 NOT NULL,
	`lat_03` integer DEFAULT 0 NOT NULL,
	`lat_04` integer DEFAULT 0 NOT NULL,
	`lat_05` integer DEFAULT 0 NOT NULL,
	`lat_06` integer DEFAULT 0 NOT NULL,
	`lat_07` integer DEFAULT 0 NOT NULL,
	`lat_08` integer DEFAULT 0 NOT NULL,
	`lat_09` integer DEFAULT 0 NOT NULL,
	`lat_10` integer DEFAULT 0 NOT NULL,
	`lat_11` integer DEFAULT 0 NOT NULL,
	`lat_12` integer DEFAULT 0 NOT NULL,
	`lat_13` integer DEFAULT 0 NOT NULL,
	`lat_14` integer DEFAULT 0 NOT NULL,
	`lat_15` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`hour`, `user_id`, `api_key_id`, `model`, `provider`, `status`, `status_code`, `team_id`)
);
--> statement-breakpoint
-- End users leave the key: groups that differed only by end user are summed into one (histograms and counts
-- add; the latency maximum is the largest). Their marginals stay as built; the compactor rebuilds them from usage_logs.
INSERT INTO `__new_usage_rollups`("hour", "user_id", "api_key_id", "model", "provider", "status", "status_code", "team_id", "requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost_micros", "latency_count", "latency_ms_sum", "ttfb_count", "ttfb_ms_sum", "lat_00", "lat_01", "lat_02", "lat_03", "lat_04", "lat_05", "lat_06", "lat_07", "lat_08", "lat_09", "lat_10", "lat_11", "lat_12", "lat_13", "lat_14", "lat_15", "latency_ms_max") SELECT "hour", "user_id", "api_key_id", "model", "provider", "status", "status_code", "team_id", SUM("requests"), SUM("errors"), SUM("prompt_tokens"), SUM("completion_tokens"), SUM("total_tokens"), SUM("cost_micros"), SUM("latency_count"), SUM("latency_ms_sum"), SUM("ttfb_count"), SUM("ttfb_ms_sum"), SUM("lat_00"), SUM("lat_01"), SUM("lat_02"), SUM("lat_03"), SUM("lat_04"), SUM("lat_05"), SUM("lat_06"), SUM("lat_07"), SUM("lat_08"), SUM("lat_09"), SUM("lat_10"), SUM("lat_11"), SUM("lat_12"), SUM("lat_13"), SUM("lat_14"), SUM("lat_15"), MAX("latency_ms_max") FROM `usage_rollups` GROUP BY "hour", "user_id", "api_key_id", "model", "provider", "status", "status_code", "team_id";--> statement-breakpoint
DROP TABLE `usage_rollups`;--> statement-breakpoint
ALTER TABLE `__new_usage_rollups` RENAME TO `usage_rollups`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `ix_usage_rollups_key_hour` ON `usage_rollups` (`api_key_id`,`hour`);--> statement-breakpoint
CREATE INDEX `ix_usage_rollups_user_hour` ON `usage_rollups` (`user_id`,`hour`);