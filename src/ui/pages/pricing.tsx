/** Pricing: the price in force per model, setting a new one (now or from a date), and each model's history. */
import { useState } from "preact/hooks";
import { api } from "../api";
import { dateTime, num, text } from "../components/forms";
import { useAction, useAsync } from "../components/use-async";
import { Dialog, ErrorNote, Field, Loading, SubmitForm, Table } from "../components/ui";
import { fmtTime } from "../format";

const price = (n: number) => `$${n.toLocaleString("en-US", { maximumFractionDigits: 6 })}`;

function History(props: { model: string }) {
  const h = useAsync(() => api.pricing.history.query({ model_key: props.model }), [props.model]);
  return (
    <>
      <ErrorNote error={h.error} />
      {h.data && (
        <Table
          caption={`Price history of ${props.model}`}
          rows={h.data}
          rowKey={(p) => p.effective_at}
          columns={[
            { title: "Effective from", cell: (p) => fmtTime(p.effective_at) },
            { title: "Input / 1M tokens", cell: (p) => price(p.input_price_per_million), numeric: true },
            { title: "Output / 1M tokens", cell: (p) => price(p.output_price_per_million), numeric: true },
          ]}
        />
      )}
    </>
  );
}

export function Pricing() {
  const [setting, setSetting] = useState<string | null>(null);
  const [history, setHistory] = useState<string | null>(null);
  const data = useAsync(() => api.pricing.list.query({ limit: 1000 }), []);
  const { error, act } = useAction(data.reload);
  return (
    <section>
      <div class="page-head">
        <h1>Pricing</h1>
        <button type="button" class="primary" onClick={() => setSetting("")}>
          Set a price
        </button>
      </div>
      <ErrorNote error={error ?? data.error} />
      <Loading when={data.loading && !data.data} />
      {data.data && (
        <Table
          caption="Prices in force"
          rows={data.data}
          rowKey={(p) => p.model_key}
          empty="No prices yet: usage is tracked without cost."
          columns={[
            { title: "Model", cell: (p) => p.model_key },
            { title: "Input / 1M tokens", cell: (p) => price(p.input_price_per_million), numeric: true },
            { title: "Output / 1M tokens", cell: (p) => price(p.output_price_per_million), numeric: true },
            { title: "Since", cell: (p) => fmtTime(p.effective_at) },
            {
              title: "Actions",
              cell: (p) => (
                <div class="row-actions">
                  <button
                    type="button"
                    onClick={() => setSetting(p.model_key)}
                    aria-label={`New price for ${p.model_key}`}
                  >
                    New price
                  </button>
                  <button
                    type="button"
                    onClick={() => setHistory(p.model_key)}
                    aria-label={`Price history of ${p.model_key}`}
                  >
                    History
                  </button>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete prices of ${p.model_key}`}
                    onClick={() =>
                      confirm("Delete every price of this model?") &&
                      act(() => api.pricing.delete.mutate({ model_key: p.model_key }))
                    }
                  >
                    Delete
                  </button>
                </div>
              ),
            },
          ]}
        />
      )}
      <Dialog title="Set a price" open={setting !== null} onClose={() => setSetting(null)}>
        <SubmitForm
          submit="Save price"
          onSubmit={async (f) => {
            await api.pricing.set.mutate({
              model_key: text(f, "model_key") ?? "",
              input_price_per_million: num(f, "input") ?? 0,
              output_price_per_million: num(f, "output") ?? 0,
              effective_at: dateTime(f, "effective_at"),
            });
            setSetting(null);
            data.reload();
          }}
        >
          <Field label="Model" name="model_key" required placeholder="provider:model" value={setting ?? ""} />
          <Field label="Input, USD per 1M tokens" name="input" type="number" min={0} step="any" required />
          <Field label="Output, USD per 1M tokens" name="output" type="number" min={0} step="any" required />
          <Field label="Effective from" name="effective_at" type="datetime-local" hint="Empty: now" />
        </SubmitForm>
      </Dialog>
      <Dialog title="Price history" open={history !== null} onClose={() => setHistory(null)}>
        {history && <History model={history} />}
      </Dialog>
    </section>
  );
}
