CREATE TABLE "batches" (
	"provider" text NOT NULL,
	"batch_id" text NOT NULL,
	"model" text NOT NULL,
	"user_id" text,
	"api_key_id" text,
	"request_count" integer NOT NULL,
	"estimate_micros" bigint NOT NULL,
	"reservation_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"settled_at" timestamp with time zone,
	"cost_micros" bigint,
	CONSTRAINT "batches_provider_batch_id_pk" PRIMARY KEY("provider","batch_id")
);
--> statement-breakpoint
CREATE INDEX "ix_batches_user_id" ON "batches" USING btree ("user_id");