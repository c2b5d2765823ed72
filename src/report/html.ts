/**
 * One self-contained HTML page: inline CSS, images as data: URIs, no script
 * and no external reference, so it opens from disk or as an e-mail
 * attachment with no server.
 */
import { Buffer } from 'node:buffer';
import { ReportDocument } from './document.js';
import { htmlEscape, tableToHtml } from './tables.js';

const STYLE = `
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #222; background: #fff; max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0 0.3em; font-size: 0.92em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.4em; }
thead th { border-top: 2px solid #222; border-bottom: 1px solid #222; padding: 0.3em 0.8em; text-align: left; }
tbody + tbody tr:first-child td { border-top: 1px solid #999; }
tbody:last-of-type tr:last-child td { border-bottom: 2px solid #222; }
td { padding: 0.2em 0.8em; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.published td { font-style: italic; color: #555; }
ul.notes { font-size: 0.82em; color: #555; margin-top: 0.2em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.88em; color: #444; }
`;

export function documentToHtml(doc: ReportDocument): string {
  const body: string[] = [`<h1>${htmlEscape(doc.title)}</h1>`];
  for (const section of doc.sections) {
    body.push(`<section>`, `<h2>${htmlEscape(section.title)}</h2>`);
    for (const block of section.blocks) {
      if (block.kind === 'text') body.push(`<p>${htmlEscape(block.text)}</p>`);
      else if (block.kind === 'table') body.push(tableToHtml(block.table));
      else {
        const data = Buffer.from(block.image.png).toString('base64');
        body.push(
          '<figure>',
          `<img alt="${htmlEscape(block.image.caption)}" src="data:image/png;base64,${data}">`,
          `<figcaption>${htmlEscape(block.image.caption)}</figcaption>`,
          '</figure>',
        );
      }
    }
    body.push('</section>');
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${htmlEscape(doc.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
