"""Guided setup: the services behind the wizard an engineer runs on an onboarding call.

Detect the PBX, check its prerequisites, create the API user (guided or automatic), verify the
key's two capabilities, check reachability, audit extension recording and preview which CRM
contact each call attaches to. Every result says what to do next in the field docs' words.
"""
