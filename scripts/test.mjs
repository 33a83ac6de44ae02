#!/usr/bin/env node
// `npm test`: the same provisioning as `npm start`, then unit, integration and end-to-end
// suites; prints each runner's summary and one total line; non-zero exit on any failure.
import { main } from './lib/bootstrap.mjs';

main('test.ts');
