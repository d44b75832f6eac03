#!/usr/bin/env node
console.log("target-redshift");
