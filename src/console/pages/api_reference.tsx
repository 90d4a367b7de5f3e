/** The admin API reference, rendered from the generated OpenAPI document. */
import type { JSX } from "hono/jsx/jsx-runtime";
import { Layout } from "../layout.tsx";

type Json = Record<string, unknown>;

/** Shown at `/console/api`. */
export function ApiReferencePage(props: { csrf: string; document: Json }): JSX.Element {
  const paths = (props.document.paths ?? {}) as Record<string, Record<string, Json>>;
  return (
    <Layout title="Admin API reference" nav="api" csrf={props.csrf}>
      <p>
        Generated from the zod schemas the routes validate with and answer with. Machine-readable:
        {" "}
        <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1). The admin routes (
        <code>/api/…</code>) take <code>Authorization: Bearer &lt;admin token&gt;</code>.
      </p>
      {Object.entries(paths).map(([path, operations]) =>
        Object.entries(operations).map(([method, op]) => {
          const parameters = (op.parameters ?? []) as Json[];
          const responses = Object.entries((op.responses ?? {}) as Record<string, Json>);
          return (
            <section>
              <h2>
                <code>{method.toUpperCase()} {path}</code>
              </h2>
              <p>{String(op.summary ?? "")}</p>
              {parameters.length > 0
                ? (
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Parameter</th>
                        <th scope="col">In</th>
                        <th scope="col">Required</th>
                        <th scope="col">Schema</th>
                      </tr>
                    </thead>
                    <tbody>
                      {parameters.map((p) => (
                        <tr>
                          <td>
                            <code>{String(p.name)}</code>
                          </td>
                          <td>{String(p.in)}</td>
                          <td>{p.required ? "yes" : "no"}</td>
                          <td>
                            <code>{JSON.stringify(p.schema ?? {})}</code>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
                : null}
              <ul>
                {responses.map(([status, r]) => <li>{status}: {String(r.description ?? "")}</li>)}
              </ul>
            </section>
          );
        })
      )}
    </Layout>
  );
}
