"""The one home of every default and limit: convlab.core.settings, and the session checks made from it."""

from __future__ import annotations

import dataclasses

import pytest

from convlab.core import session as S
from convlab.core import settings as st


def test_defaults_are_what_the_app_starts_with():
    learn = st.LearnSettings()
    assert (learn.lr, learn.padding, learn.kernel, learn.optimizer, learn.steps) == (0.05, 1, 3, "adam", 500)
    train = st.TrainSettings()
    assert (train.dataset, train.batch_size, train.epochs, train.optimizer, train.lr, train.seed) == (
        "digits", 32, 3, "momentum", 0.05, 0)
    assert st.ConvSettings() == st.ConvSettings(1, 0, "zeros", 1)


def test_session_defaults_come_from_the_settings():
    assert S.DEFAULT_LEARN == st.defaults(st.LearnSettings)
    assert S.DEFAULT_CONV == st.defaults(st.ConvSettings)
    assert S.DEFAULT_POST == st.defaults(st.PoolSettings)
    train = st.defaults(st.TrainSettings)
    assert S.DEFAULT_DATASET == {"kind": train["dataset"], "path": train["path"], "samples": train["samples"]}
    assert all(S.DEFAULT_TRAIN[k] == train[k] for k in S.DEFAULT_TRAIN)
    assert S.Session().learn == S.DEFAULT_LEARN


@pytest.mark.parametrize("cls", [st.ConvSettings, st.PoolSettings, st.LearnSettings, st.TrainSettings,
                                 st.SourceSettings])
def test_every_default_is_inside_its_own_limits(cls):
    obj = cls()
    for f in dataclasses.fields(cls):
        assert st.check_value(cls, f.name, getattr(obj, f.name)) == getattr(obj, f.name)
    assert st.from_mapping(cls, st.defaults(cls)) == obj


def test_limits_and_choices():
    assert st.limits(st.LearnSettings, "lr") == st.Range(0.0001, 2.0)
    assert st.limits(st.TrainSettings, "seed") == st.Range(0, 2**31 - 1)
    assert st.choices(st.TrainSettings, "optimizer") == ("sgd", "momentum", "adam")
    with pytest.raises(KeyError):
        st.limits(st.TrainSettings, "path")


@pytest.mark.parametrize("name, value, message", [
    ("kernel", 12, "learn.kernel must be a whole number from 1 to 11, got 12"),
    ("kernel", 3.0, "learn.kernel must be a whole number, got 3.0"),
    ("kernel", True, "learn.kernel must be a whole number, got True"),
    ("steps", 2**31, "learn.steps must be a whole number from 1 to 100,000, got 2147483648"),
    ("lr", float("nan"), "learn.lr must be a finite number, got nan"),
    ("lr", 5.0, "learn.lr must be a number from 0.0001 to 2, got 5.0"),
    ("optimizer", "rmsprop", "learn.optimizer must be one of 'adam', 'sgd', 'momentum', got 'rmsprop'"),
    ("extra_presets", ["a"], "learn.extra_presets must be a list of 3 values"),
])
def test_bad_values_are_named_with_their_numbers(name, value, message):
    with pytest.raises(st.SettingsError) as e:
        st.from_mapping(st.LearnSettings, {name: value}, "learn")
    assert message in str(e.value)


def test_from_mapping_fills_defaults_ignores_unknown_keys_and_reads_null_seed_as_default():
    t = st.from_mapping(st.TrainSettings, {"lr": 0.1, "seed": None, "future": 1})
    assert t == dataclasses.replace(st.TrainSettings(), lr=0.1)
    assert st.from_mapping(st.LearnSettings, {"extra_presets": ["a", "b", "c"]}).extra_presets == ("a", "b", "c")


def test_the_session_refuses_what_the_widgets_cannot_show():
    for field, value in (("kernel", 2**31), ("stride", 5), ("padding", 21), ("dilation", 0), ("steps", 0)):
        with pytest.raises(S.SessionError, match=f"learn.{field} must be a whole number"):
            S.validate(S.Session(learn={**S.DEFAULT_LEARN, field: value}))
    with pytest.raises(S.SessionError, match="train_settings.seed must be a whole number from 0"):
        S.validate(S.Session(train_settings={**S.DEFAULT_TRAIN, "seed": -1}))
    S.validate(S.Session(train_settings={**S.DEFAULT_TRAIN, "seed": None}))  # the format allows null
    with pytest.raises(S.SessionError, match="conv.stride must be a whole number from 1 to 16"):
        S.validate(S.Session(conv={**S.DEFAULT_CONV, "stride": 17}))
